package imaplib2

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Debug levels, as imaplib2 uses them.
const (
	debugState   = 1 // state changes, commands, NO/BAD/BYE, failures
	debugIdle    = 2 // IDLE start and end
	debugDetail  = 3 // untagged responses, routing
	debugWire    = 4 // every line sent and received
	debugLogSize = 20
)

// debugLog is imaplib2's debug output. Lines up to the debug level are
// either written at once (level 1, or every line when the level is above
// the buffer level) or kept in a ring of the last 20, which is written
// out when something goes wrong. At level 0 nothing is ever written.
type debugLog struct {
	level, bufLevel int
	prefix          string

	mu   sync.Mutex
	w    io.Writer
	ring [debugLogSize]string
	next int // ring index of the next line
	full bool
}

// enabled reports whether lines of level lvl are recorded at all.
func (d *debugLog) enabled(lvl int) bool { return d != nil && lvl <= d.level }

// logf records one line of level lvl; role names the goroutine, as
// imaplib2's thread names do ("reader", "writer", "caller").
func (d *debugLog) logf(lvl int, role, format string, args ...any) {
	if !d.enabled(lvl) {
		return
	}
	now := time.Now()
	line := fmt.Sprintf("  %02d:%02d.%02d %s%s %s\n", now.Minute(), now.Second(), now.Nanosecond()/1e7,
		d.prefix, role, fmt.Sprintf(format, args...))
	d.mu.Lock()
	defer d.mu.Unlock()
	if lvl <= 1 || d.level > d.bufLevel {
		io.WriteString(d.w, line)
	}
	if d.level <= d.bufLevel {
		d.ring[d.next] = line
		d.next = (d.next + 1) % debugLogSize
		d.full = d.full || d.next == 0
	}
}

// dump writes the buffered lines, oldest first, after a failure.
func (d *debugLog) dump() {
	if d == nil || d.level == 0 || d.level > d.bufLevel {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	start, n := 0, d.next
	if d.full {
		start, n = d.next, debugLogSize
	}
	fmt.Fprintf(d.w, "  %slast %d log messages:\n", d.prefix, n)
	for i := 0; i < n; i++ {
		io.WriteString(d.w, d.ring[(start+i)%debugLogSize])
	}
}
