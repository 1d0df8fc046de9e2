"""The fault-injection tests: a package, so the suite its conftest starts for them (package
scope) stops once they are done rather than at the end of the whole run."""
