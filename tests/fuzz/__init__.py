"""The fuzzing tests: a package, so the suite its conftest starts for Schemathesis's command line
(package scope) stops once they are done rather than at the end of the whole run."""
