package imaplib2

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
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Real Dovecot sessions, recorded as transcripts (the format of
// transcript_test.go) in testdata/dovecot/*.txt and replayed without
// Dovecot:
//
//	go test -run TestDovecotRecord -v . -args -record   # re-record (needs Dovecot)
//	go test -run TestDovecotTranscripts -v .             # replay (needs nothing)
//
// Each session in dovecotSessions is a function that issues commands and
// checks their results. Recording runs it against Dovecot through a
// net.Conn that captures both directions; replaying runs the very same
// function against a scriptServer playing the transcript, which checks
// every byte the library sends. The client's tags become $1, $2, ...; the
// sessions log in with the password "secret-password", so the transcripts
// hold no real secret and replay as they are.

var recordTranscripts = flag.Bool("record", false, "TestDovecotRecord: record Dovecot sessions into testdata/dovecot/*.txt")

// dovecotRecordPassword is the password of every recorded user.
const dovecotRecordPassword = "secret-password"

// A dovecotSession is one recorded session.
type dovecotSession struct {
	user string
	// setup prepares the user's mail over a connection that is not
	// recorded; it runs only when recording.
	setup func(t *testing.T, m *IMAP4)
	// run issues the session's commands on m, checking the results, and
	// logs out. wake is called while IDLE is active: when recording it
	// makes a change on another connection; when replaying it is nil.
	run func(t *testing.T, m *IMAP4, wake func())
}

// Fixed messages and dates, so that the client sends the same bytes when
// replaying.
var (
	recDate1 = time.Date(2024, 2, 29, 13, 14, 15, 0, time.FixedZone("", 3600))
	recDate2 = time.Date(2024, 3, 1, 8, 0, 0, 0, time.UTC)
	recMsg1  = dovecotMessage("=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=", "Hallo!\r\n\r\nThis line ends a literal.", "Message-ID: <rec1@example.org>")
	recMsg2  = dovecotMessage("two words", "second", "Message-ID: <rec2@example.org>", "In-Reply-To: <rec1@example.org>")
)

// dovecotSessions maps a transcript name (testdata/dovecot/<name>.txt) to
// the session that produced it.
var dovecotSessions = map[string]dovecotSession{
	"login_select_fetch": {
		user: "rec-fetch",
		setup: func(t *testing.T, m *IMAP4) {
			dovecotOK(t, m.Append("INBOX", `(\Seen $Important)`, recDate1, recMsg1))
		},
		run: func(t *testing.T, m *IMAP4, _ func()) {
			dovecotOK(t, m.Login("rec-fetch", dovecotRecordPassword))
			assert.Contains(t, m.Capabilities(), "IDLE")
			res := dovecotOK(t, m.Select("INBOX", true))
			assert.Equal(t, []string{"1"}, texts(res.Data))
			assert.Regexp(t, `^\d+$`, m.Response("UIDVALIDITY").Data[0].Text)
			res = dovecotOK(t, m.Fetch("1", "(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])"))
			require.Len(t, res.Data, 2)
			assert.Equal(t, fmt.Sprintf("BODY[] {%d}", len(recMsg1)), res.Data[0].Text[strings.LastIndex(res.Data[0].Text, " BODY[]")+1:])
			assert.Equal(t, string(recMsg1), string(res.Data[0].Literal))
			assert.Equal(t, ")", res.Data[1].Text)
			when, err := Internaldate2Time([]byte(res.Data[0].Text))
			require.NoError(t, err)
			assert.True(t, when.Equal(recDate1), "INTERNALDATE %v, appended with %v", when, recDate1)
			assert.ElementsMatch(t, []string{`\Seen`, "$Important"}, withoutRecent(ParseFlags([]byte(res.Data[0].Text))))
			res = dovecotOK(t, m.Fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT MESSAGE-ID)])"))
			require.Len(t, res.Data, 2)
			assert.Equal(t, "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=\r\nMessage-ID: <rec1@example.org>\r\n\r\n", string(res.Data[0].Literal))
			dovecotLogout(t, m)
		},
	},
	"append_search": {
		user: "rec-append",
		run: func(t *testing.T, m *IMAP4, _ func()) {
			dovecotOK(t, m.Login("rec-append", dovecotRecordPassword))
			dovecotOK(t, m.Create("Archive"))
			a1 := m.Append("INBOX", `\Flagged`, recDate1, recMsg1)
			a2 := m.Append("INBOX", "", recDate2, recMsg2)
			dovecotOK(t, a1)
			dovecotOK(t, a2)
			uids := texts(m.Response("APPENDUID").Data)
			require.Len(t, uids, 2)
			assert.True(t, strings.HasSuffix(uids[0], " 1") && strings.HasSuffix(uids[1], " 2"), "%q", uids)
			res := dovecotOK(t, m.Select("INBOX", false))
			assert.Equal(t, []string{"2"}, texts(res.Data))
			res = dovecotOK(t, m.Search("", "SUBJECT", "two words"))
			assert.Equal(t, []string{"2"}, texts(res.Data))
			res = dovecotOK(t, m.Search("UTF-8", "SUBJECT", "Köln"))
			assert.Equal(t, []string{"1"}, texts(res.Data), "a non-ASCII criterion goes as a literal")
			res = dovecotOK(t, m.UID("SEARCH", "FLAGGED"))
			assert.Equal(t, []string{"1"}, texts(res.Data))
			res = dovecotOK(t, m.Sort("REVERSE ARRIVAL", "UTF-8", "ALL"))
			assert.Equal(t, []string{"2 1"}, texts(res.Data))
			res = dovecotOK(t, m.Store("2", "+FLAGS", `(\Seen $Done)`))
			require.Len(t, res.Data, 1)
			assert.ElementsMatch(t, []string{`\Seen`, "$Done"}, withoutRecent(ParseFlags([]byte(res.Data[0].Text))))
			dovecotOK(t, m.Copy("1:2", "Archive"))
			assert.Regexp(t, `^\d+ 1:2 1:2$`, m.Response("COPYUID").Data[0].Text)
			res = dovecotOK(t, m.Status("Archive", "(MESSAGES UNSEEN)"))
			assert.Equal(t, []string{"Archive (MESSAGES 2 UNSEEN 1)"}, texts(res.Data))
			dovecotOK(t, m.Store("1", "+FLAGS.SILENT", `\Deleted`))
			res = dovecotOK(t, m.Expunge())
			assert.Equal(t, []string{"1"}, texts(res.Data))
			dovecotOK(t, m.Close())
			dovecotLogout(t, m)
		},
	},
	"idle": {
		user: "rec-idle",
		run: func(t *testing.T, m *IMAP4, wake func()) {
			dovecotOK(t, m.Login("rec-idle", dovecotRecordPassword))
			res := dovecotOK(t, m.Select("INBOX", false))
			assert.Equal(t, []string{"0"}, texts(res.Data))
			idle := m.Idle(30 * time.Second)
			dovecotIdling(t, m, idle)
			if wake != nil {
				wake()
			}
			res = dovecotOK(t, idle)
			assert.Contains(t, res.Data[0].Text, "Idle completed")
			assert.Equal(t, []string{"1"}, texts(m.Response("EXISTS").Data), "woken by the new message")
			res = dovecotOK(t, m.Fetch("1", "(ENVELOPE)"))
			assert.Contains(t, res.Data[0].Text, `"two words"`)
			dovecotLogout(t, m)
		},
	},
	"authenticate_cram_md5": {
		user: "rec-cram",
		run: func(t *testing.T, m *IMAP4, _ func()) {
			dovecotOK(t, m.LoginCramMD5("rec-cram", dovecotRecordPassword))
			assert.Equal(t, AUTH, m.State())
			res := dovecotOK(t, m.ID("name", "imaplib2-go"))
			assert.Equal(t, []string{`("name" "Dovecot")`}, texts(res.Data))
			dovecotLogout(t, m)
		},
	},
	"pipelined_mailboxes": {
		user: "rec-boxes",
		run: func(t *testing.T, m *IMAP4, _ func()) {
			dovecotOK(t, m.Login("rec-boxes", dovecotRecordPassword))
			dovecotOK(t, m.Create("projects"))
			dovecotOK(t, m.Create("projects/2024"))
			dovecotOK(t, m.Create("two words"))
			// Issued together: pipelined on the wire.
			list := m.List(`""`, "*")
			status := m.Status("two words", "(MESSAGES UIDNEXT)")
			acl := m.GetACL("projects")
			quota := m.GetQuotaRoot("INBOX")
			ns := m.Namespace()
			assert.ElementsMatch(t, []string{`(\HasNoChildren) "/" INBOX`, `(\HasChildren) "/" projects`,
				`(\HasNoChildren) "/" projects/2024`, `(\HasNoChildren) "/" "two words"`}, texts(dovecotOK(t, list).Data))
			assert.Equal(t, []string{`"two words" (MESSAGES 0 UIDNEXT 1)`}, texts(dovecotOK(t, status).Data))
			assert.Equal(t, []string{"projects rec-boxes lrwstipekxacd"}, texts(dovecotOK(t, acl).Data))
			q := texts(dovecotOK(t, quota).Data)
			require.Len(t, q, 2)
			assert.Equal(t, `INBOX "User quota"`, q[0])
			assert.Equal(t, []string{`(("" "/")) NIL NIL`}, texts(dovecotOK(t, ns).Data))
			dovecotOK(t, m.SetACL("projects", "bob", "lr"))
			assert.Contains(t, dovecotOK(t, m.GetACL("projects")).Data[0].Text, " bob lr")
			dovecotOK(t, m.Rename("two words", "three words"))
			dovecotOK(t, m.Delete("three words"))
			dovecotLogout(t, m)
		},
	},
}

// TestDovecotRecord records every session of dovecotSessions against
// Dovecot and writes testdata/dovecot/<name>.txt. It runs only with
// -args -record.
func TestDovecotRecord(t *testing.T) {
	if !*recordTranscripts {
		t.Skip("records testdata/dovecot/*.txt from Dovecot; run with: go test -run TestDovecotRecord -v . -args -record")
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
				dovecotOK(t, m.Login(s.user, dovecotRecordPassword))
				s.setup(t, m)
				dovecotLogout(t, m)
			}
			wake := func() {
				b := dovecotNew(t, d, nil)
				dovecotOK(t, b.Login(s.user, dovecotRecordPassword))
				dovecotOK(t, b.Append("INBOX", "", recDate2, recMsg2))
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
			header := fmt.Sprintf("# Session %q recorded from Dovecot %s by TestDovecotRecord (record_test.go),\n"+
				"# replayed by TestDovecotTranscripts. Re-record: go test -run TestDovecotRecord -v . -args -record\n",
				name, strings.TrimSpace(string(version)))
			file := filepath.Join("testdata", "dovecot", name+".txt")
			require.NoError(t, os.WriteFile(file, []byte(header+script), 0o644))
			t.Logf("wrote %s (%d lines)", file, strings.Count(script, "\n"))

			// The new transcript must replay.
			dovecotReplay(t, name)
		})
	}
}

// TestDovecotTranscripts replays every testdata/dovecot/*.txt against the
// library, running the session that recorded it. It needs no Dovecot.
func TestDovecotTranscripts(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "dovecot", "*.txt"))
	require.NoError(t, err)
	var names []string
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".txt")
		names = append(names, name)
		if _, ok := dovecotSessions[name]; !ok {
			t.Errorf("%s has no session in dovecotSessions (record_test.go)", f)
		}
	}
	for name := range dovecotSessions {
		if !slices.Contains(names, name) {
			t.Errorf("session %q has no transcript: run go test -run TestDovecotRecord -v . -args -record", name)
		}
	}
	for _, name := range names {
		if _, ok := dovecotSessions[name]; ok {
			t.Run(name, func(t *testing.T) { dovecotReplay(t, name) })
		}
	}
}

// dovecotReplay plays testdata/dovecot/<name>.txt and runs its session
// against it.
func dovecotReplay(t *testing.T, name string) {
	t.Helper()
	srv := loadScript(t, "dovecot/"+name+".txt")
	m := connect(t, srv, nil)
	dovecotSessions[name].run(t, m, nil)
	srv.Wait()
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
