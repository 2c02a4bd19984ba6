"""Train on the host, offline: from the appliance's export.zip to an int8 model on the device."""
