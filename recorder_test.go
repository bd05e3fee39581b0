//go:build record

package imaplib2

// The recorder of the Dovecot transcripts replayed by TestDovecotTranscripts
// (record_test.go). It is a tool, not a test, and builds only with the
// record tag; it writes testdata/dovecot/*.txt only when also given -record:
//
//	go test -tags record -run TestDovecotRecord -v . -args -record

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

var recordTranscripts = flag.Bool("record", false, "TestDovecotRecord: record Dovecot sessions into testdata/dovecot/*.txt")

// TestDovecotRecord records every session of dovecotSessions against
// Dovecot and writes testdata/dovecot/<name>.txt. It runs only with
// -tags record and -args -record.
func TestDovecotRecord(t *testing.T) {
	if !*recordTranscripts {
		t.Skip("records testdata/dovecot/*.txt from Dovecot; run with: go test -tags record -run TestDovecotRecord -v . -args -record")
	}
	d := startDovecot(t)
	version, err := exec.Command(dovecotMaster, "--version").Output()
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join("testdata", "dovecot"), 0o755))
	for _, name := range slices.Sorted(maps.Keys(dovecotSessions)) {
		t.Run(name, func(t *testing.T) {
			s := dovecotSessions[name]
			require.NoError(t, d.addUser(s.user, dovecotRecordPassword))
			if s.setup != nil {
				m := dovecotNew(t, d, nil)
				waitOK(t, m.Login(s.user, dovecotRecordPassword))
				s.setup(t, m)
				dovecotLogout(t, m)
			}
			wake := func() {
				b := dovecotNew(t, d, nil)
				waitOK(t, b.Login(s.user, dovecotRecordPassword))
				waitOK(t, b.Append("INBOX", "", recDate2, recMsg2))
				dovecotLogout(t, b)
			}

			rec := &wireRecorder{}
			m := dovecotNew(t, d, &Options{DialContext: rec.dial})
			s.run(t, m, wake)
			if t.Failed() {
				t.Fatal("the session failed against Dovecot; nothing written")
			}
			script, err := rec.transcript()
			require.NoError(t, err)
			header := fmt.Sprintf("# Session %q recorded from Dovecot %s by TestDovecotRecord (recorder_test.go),\n"+
				"# replayed by TestDovecotTranscripts. Re-record: go test -tags record -run TestDovecotRecord -v . -args -record\n",
				name, strings.TrimSpace(string(version)))
			file := filepath.Join("testdata", "dovecot", name+".txt")
			require.NoError(t, os.WriteFile(file, []byte(header+script), 0o644))
			t.Logf("wrote %s (%d lines)", file, strings.Count(script, "\n"))

			// The new transcript must replay.
			dovecotReplay(t, name)
		})
	}
}

// ---------------------------------------------------------------------------
// Recording

// A wireRecorder captures both directions of the connections it dials, in
// the order they happened: what the client writes is recorded before it
// reaches the wire, what it reads once it has arrived, so a server line
// never precedes the client line that caused it.
type wireRecorder struct {
	mu     sync.Mutex
	events []wireEvent
}

type wireEvent struct {
	client bool // written by the client; else read from the server
	data   []byte
}

func (r *wireRecorder) add(client bool, p []byte) {
	r.mu.Lock()
	r.events = append(r.events, wireEvent{client, bytes.Clone(p)})
	r.mu.Unlock()
}

// dial is an Options.DialContext that records the connection.
func (r *wireRecorder) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &recordingConn{Conn: c, rec: r}, nil
}

type recordingConn struct {
	net.Conn
	rec *wireRecorder
}

func (c *recordingConn) Write(p []byte) (int, error) {
	c.rec.add(true, p)
	return c.Conn.Write(p)
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.rec.add(false, p[:n])
	}
	return n, err
}

// transcript converts the recorded bytes into transcript lines.
func (r *wireRecorder) transcript() (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	tags := map[string]string{}
	client := &wireParser{client: true, tags: tags}
	server := &wireParser{tags: tags}
	var b strings.Builder
	for _, e := range r.events {
		p := server
		if e.client {
			p = client
		}
		p.buf = append(p.buf, e.data...)
		lines, err := p.parse()
		if err != nil {
			return "", err
		}
		for _, l := range lines {
			b.WriteString(l + "\n")
		}
	}
	for _, p := range []*wireParser{client, server} {
		if len(p.buf) > 0 || p.literal > 0 {
			return "", fmt.Errorf("recording ends inside a line or literal (client %v): %q", p.client, p.buf)
		}
	}
	return b.String(), nil
}

// A wireParser splits one direction of a recorded connection into
// transcript lines: lines, literals, and the rest of a line after a
// literal.
type wireParser struct {
	client  bool
	tags    map[string]string // client tag -> "$N", shared by both directions
	buf     []byte
	literal int  // bytes of a literal still to come
	inLine  bool // the next bytes continue a line after a literal
}

var (
	wireLiteralRE   = regexp.MustCompile(`~?\{(\d+)\+?\}$`)
	wireClientTagRE = regexp.MustCompile(`^([A-Za-z]+[0-9]+) `)
)

func (p *wireParser) parse() ([]string, error) {
	var out []string
	for {
		if p.literal > 0 {
			if len(p.buf) < p.literal {
				return out, nil // the whole literal goes on one line
			}
			out = append(out, p.prefix()+"~ "+wireEscape(p.buf[:p.literal]))
			p.buf, p.literal, p.inLine = p.buf[p.literal:], 0, true
			continue
		}
		i := bytes.Index(p.buf, []byte("\r\n"))
		if i < 0 {
			return out, nil
		}
		line := string(p.buf[:i])
		p.buf = p.buf[i+2:]
		l, err := p.line(line)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
		p.inLine = false
		if m := wireLiteralRE.FindStringSubmatch(line); m != nil {
			n, err := strconv.Atoi(m[1])
			if err != nil {
				return nil, err
			}
			p.literal, p.inLine = n, true
		}
	}
}

func (p *wireParser) prefix() string {
	if p.client {
		return "C"
	}
	return "S"
}

// line turns one recorded line (without CRLF) into a transcript line:
// "C: $N ..." or "S: $N ..." for tagged lines, "S: ..." or "C: ..." for
// others, and an escaped "~" line where the text would not survive as it
// is.
func (p *wireParser) line(line string) (string, error) {
	if p.inLine { // the rest of a line after a literal: the bytes exactly
		return p.prefix() + "~ " + wireEscape([]byte(line+"\r\n")), nil
	}
	placeholder, rest := "", line
	if p.client {
		if m := wireClientTagRE.FindStringSubmatch(line); m != nil {
			if _, ok := p.tags[m[1]]; !ok {
				p.tags[m[1]] = "$" + strconv.Itoa(len(p.tags)+1)
			}
			placeholder, rest = p.tags[m[1]], line[len(m[1]):]
		}
	} else if tag, r, ok := strings.Cut(line, " "); ok && p.tags[tag] != "" {
		placeholder, rest = p.tags[tag], " "+r
	}
	if wirePlain(rest, placeholder != "", p.client) {
		return p.prefix() + ": " + placeholder + rest, nil
	}
	if p.client && placeholder != "" {
		return "", fmt.Errorf("client line %q cannot be written with a tag placeholder", line)
	}
	return p.prefix() + "~ " + placeholder + wireEscape([]byte(rest+"\r\n")), nil
}

// wirePlain reports whether rest can follow "C: " or "S: " (and a tag
// placeholder, if tagged) as it is: printable ASCII without trailing
// blanks; for an untagged line, not starting with a blank or "$"; for the
// server, without "$" anywhere, as S: lines substitute placeholders.
func wirePlain(rest string, tagged, client bool) bool {
	if !tagged && (rest == "" || rest[0] == ' ' || rest[0] == '$') {
		return false
	}
	if strings.HasSuffix(rest, " ") || strings.HasSuffix(rest, "\t") {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; c < 0x20 || c > 0x7e || c == '$' && !client {
			return false
		}
	}
	return true
}

// wireEscape writes b with the escapes of S~ and C~ lines; "$" becomes
// \x24 so that it is never taken for a placeholder.
func wireEscape(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		switch {
		case c == '\\':
			s.WriteString(`\\`)
		case c == '\r':
			s.WriteString(`\r`)
		case c == '\n':
			s.WriteString(`\n`)
		case c == '\t':
			s.WriteString(`\t`)
		case c == '$' || c < 0x20 || c > 0x7e:
			fmt.Fprintf(&s, `\x%02x`, c)
		default:
			s.WriteByte(c)
		}
	}
	return s.String()
}
