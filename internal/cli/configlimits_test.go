package cli

import (
	"testing"

	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/sensor"
)

// TestConfigLimitsMirrorSensor: the config file refuses, with its line,
// what the sensors would refuse at start.
func TestConfigLimitsMirrorSensor(t *testing.T) {
	if config.MaxPrefixes != sensor.MaxOpenPrefixes || config.MaxPrefixLen != sensor.MaxPrefixLen || config.MaxNetPorts != sensor.MaxNetPorts {
		t.Errorf("config limits %d prefixes of %d bytes, %d ports; sensor %d, %d, %d",
			config.MaxPrefixes, config.MaxPrefixLen, config.MaxNetPorts, sensor.MaxOpenPrefixes, sensor.MaxPrefixLen, sensor.MaxNetPorts)
	}
}
