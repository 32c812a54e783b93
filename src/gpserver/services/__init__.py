"""Services: the services file, validated into a catalog of services and their tasks."""
