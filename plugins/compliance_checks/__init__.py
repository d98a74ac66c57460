"""The built-in regulation checks. Each module is one plugin, registered through the
``compliance`` entry-point group exactly as a third-party check would be."""
