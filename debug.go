package imaplib2

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Debug levels, as imaplib2 uses them.
const (
	debugState   = 1 // state changes, commands, NO/BAD/BYE, failures
	debugIdle    = 2 // IDLE start and end
	debugDetail  = 3 // untagged responses, routing
	debugWire    = 4 // every line sent and received, as it was
	debugLogSize = 20
)

// debugLog is imaplib2's debug output. Lines up to the debug level are
// either written at once (level 1, or every line when the level is above
// the buffer level) or kept in a ring of the last 20, which is written
// out when something goes wrong. At level 0 nothing is ever written.
//
// With a slog.Logger, every line up to the debug level is a record at
// slog.LevelDebug instead, with the attributes conn, dir ("C" for what the
// client sent, "S" for what the server sent) and tag.
type debugLog struct {
	level, bufLevel int
	prefix          string // the Identifier and a space, or ""
	logger          *slog.Logger

	mu   sync.Mutex
	w    io.Writer
	ring [debugLogSize]string
	next int // ring index of the next line
	full bool
}

// newDebugLog returns the debug log that o asks for: nil, which records
// nothing, at Debug level 0.
func newDebugLog(o Options, host string) *debugLog {
	if o.Debug <= 0 {
		return nil
	}
	d := &debugLog{level: o.Debug, bufLevel: o.DebugBufLvl, w: o.DebugWriter, logger: o.Logger}
	if d.prefix = o.Identifier; d.prefix == "" {
		d.prefix = host
	}
	if d.prefix != "" {
		d.prefix += " "
	}
	return d
}

// enabled reports whether lines of level lvl are recorded at all.
func (d *debugLog) enabled(lvl int) bool { return d != nil && lvl <= d.level }

// event records one of the library's own events at level lvl; tag is the
// command's tag, if the event concerns one.
func (d *debugLog) event(lvl int, tag, format string, args ...any) {
	if d.enabled(lvl) {
		d.record(lvl, "", tag, fmt.Sprintf(format, args...))
	}
}

// sent records a line the client sent, as sent but for secrets and
// literal bodies, which the caller has replaced.
func (d *debugLog) sent(tag, line string) {
	if d.enabled(debugWire) {
		d.record(debugWire, "C", tag, line)
	}
}

// received records a line the server sent, as it was but for literal
// bodies and AUTHENTICATE challenges, which the caller has replaced.
func (d *debugLog) received(tag, line string) {
	if d.enabled(debugWire) {
		d.record(debugWire, "S", tag, line)
	}
}

// record writes or buffers one line; dir is "C", "S" or "" (an event).
func (d *debugLog) record(lvl int, dir, tag, msg string) {
	if d.logger != nil {
		attrs := []slog.Attr{slog.String("conn", d.prefixName())}
		if dir != "" {
			attrs = append(attrs, slog.String("dir", dir))
		}
		if tag != "" {
			attrs = append(attrs, slog.String("tag", tag))
		}
		d.logger.LogAttrs(context.Background(), slog.LevelDebug, msg, attrs...)
		return
	}
	arrow := ""
	switch dir {
	case "C":
		arrow = "writer > "
	case "S":
		arrow = "reader < "
	}
	now := time.Now()
	line := fmt.Sprintf("  %02d:%02d.%02d %s%s%s\n", now.Minute(), now.Second(), now.Nanosecond()/1e7, d.prefix, arrow, msg)
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

// prefixName is the connection's identifier for slog records.
func (d *debugLog) prefixName() string {
	if d.prefix == "" {
		return ""
	}
	return d.prefix[:len(d.prefix)-1]
}

// dump writes the buffered lines, oldest first, after a failure.
func (d *debugLog) dump() {
	if d == nil || d.level == 0 || d.level > d.bufLevel || d.logger != nil {
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
