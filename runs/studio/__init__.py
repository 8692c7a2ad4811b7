"""Studio, the web UI: server-rendered pages with htmx partials, live over a websocket.

How the pieces fit (``shared/STUDIO.md`` says what the pages show):

- ``urls.py`` routes Studio's pages; ``coflux_server/urls.py`` mounts it at the root, beside the
  asset page (``assets.studio``, a higher app).
- ``http.py``: the project Studio shows, login and ``projects.permissions`` checks, finding a
  workspace by name, rendering a page or, for an htmx request, its partial.
- ``context.py``: the chrome every page draws (workspace tree, sidebar, live URL); a
  workspace's pages render through ``workspace_page``, others call
  ``chrome(request, workspace, live=...)``, and all extend ``templates/studio/base.html``.
- One ``views_*.py`` per page, each view parsing the request, checking access, calling one
  plain function (``queries.py``, ``runlist.py``, ``submitform.py``, ...) and rendering.
- Partials are template files of their own (``templates/studio/<page>/_<part>.html``), included
  by the page and rendered alone for htmx requests and for live pushes, each with a stable
  element id, so a pushed partial swaps out of band into the page that drew it.
"""
