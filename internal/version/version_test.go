package version

import (
	"runtime/debug"
	"testing"
)

func TestCompose(t *testing.T) {
	setting := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	tests := []struct {
		name string
		info *debug.BuildInfo
		ok   bool
		want string
	}{
		{"no build info", nil, false, Base},
		{"no vcs", &debug.BuildInfo{}, true, Base},
		{"clean", &debug.BuildInfo{Settings: setting("vcs.revision", "0123456789abcdef0123", "vcs.modified", "false")}, true, Base + "+0123456789ab"},
		{"dirty", &debug.BuildInfo{Settings: setting("vcs.revision", "abc", "vcs.modified", "true")}, true, Base + "+abc.dirty"},
	}
	for _, tt := range tests {
		if got := compose(tt.info, tt.ok); got != tt.want {
			t.Errorf("%s: compose = %q, want %q", tt.name, got, tt.want)
		}
	}
	if Version == "" {
		t.Error("Version is empty")
	}
}
