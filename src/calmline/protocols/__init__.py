"""Crisis protocols: YAML files, a validated IR (``schema``) and a pure interpreter (``interpreter``)."""
