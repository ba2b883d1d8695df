# mqttbridge firmware: the parts shared by the ESP8266 and the Unix twin.
