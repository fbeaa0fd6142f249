"""The control plane: the Unix-socket protocol, its server (inside ``memoryd serve``) and client."""
