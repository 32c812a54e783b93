"""The GP type system: tools, parameter codecs and Esri JSON. Pure: no web, database or queue."""
