"""The rules every service shares: settings parsing, the MQTT connection, start-up."""
