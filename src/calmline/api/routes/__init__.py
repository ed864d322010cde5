"""One router per resource; routes only translate between HTTP and the service."""
