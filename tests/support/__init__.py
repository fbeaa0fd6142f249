"""Reusable test doubles: ``responses_server.ResponsesServer`` (a loopback Responses API)."""
