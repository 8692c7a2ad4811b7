"""A registered workflow that server and CLI tests share."""

GREET = {
    "name": "greet",
    "type": "workflow",
    "parameters": [
        {"name": "name", "annotation": "str", "default": None},
        {"name": "punctuation", "annotation": "str", "default": '"!"'},
    ],
    "instruction": "Say hello.",
    "options": {},
}
