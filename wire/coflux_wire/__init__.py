"""What crosses the wire between workers and the server: the worker protocol and the value
format's plain-JSON encoding. Shared by the SDK (``coflux``) and the server, and importable
without either."""
