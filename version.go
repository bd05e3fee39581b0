package imaplib2

import "fmt"

// version is this package's release, "major.minor".
const (
	versionMajor = 0
	versionMinor = 1
)

// Version returns the package's version as "major.minor" (imaplib2's
// version()).
func Version() string { return fmt.Sprintf("%d.%d", versionMajor, versionMinor) }

// VersionTuple returns the package's version as two integers
// (imaplib2's version(use_tuple=True)).
func VersionTuple() (major, minor int) { return versionMajor, versionMinor }
