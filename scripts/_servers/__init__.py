"""Implementation of scripts/servers: the real test servers, installed and run without Docker."""
