// Package version names the fenchel build, recorded in every run's summary so
// a result can be traced to the code that produced it.
package version

import (
	"runtime/debug"
	"strings"
)

// Base is the release this tree is working towards.
const Base = "0.1.0-dev"

// Version is Base followed by the VCS revision when the binary was built from a
// checkout with VCS stamping ("0.1.0-dev+3f2a9c1e0b7d", "+dirty" appended for
// uncommitted changes); plain Base otherwise (go test, -buildvcs=false).
var Version = compose(debug.ReadBuildInfo())

func compose(info *debug.BuildInfo, ok bool) string {
	if !ok || info == nil {
		return Base
	}
	var rev string
	var dirty bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return Base
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	var b strings.Builder
	b.WriteString(Base)
	b.WriteString("+")
	b.WriteString(rev)
	if dirty {
		b.WriteString(".dirty")
	}
	return b.String()
}
