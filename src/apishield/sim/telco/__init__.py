"""The demo telco: its numbering, customers, tokens, bodies, handler and ASGI app."""
