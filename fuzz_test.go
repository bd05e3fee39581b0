package imaplib2

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// serverBytes returns what the server side of a transcript sends, for
// seeding the fuzzers with real and hand-written server output.
func serverBytes(tb testing.TB) [][]byte {
	files, _ := filepath.Glob("testdata/*.txt")
	more, _ := filepath.Glob("testdata/dovecot/*.txt")
	var seeds [][]byte
	for _, f := range append(files, more...) {
		text, err := os.ReadFile(f)
		require.NoError(tb, err)
		var b bytes.Buffer
		for _, line := range strings.Split(string(text), "\n") {
			line = strings.TrimLeft(line, " \t")
			switch {
			case strings.HasPrefix(line, "S: "):
				b.WriteString(strings.ReplaceAll(line[3:], "$", "A") + "\r\n")
			case strings.HasPrefix(line, "S~ "):
				if raw, err := scriptUnescape(line[3:]); err == nil {
					b.WriteString(raw)
				}
			}
		}
		seeds = append(seeds, b.Bytes())
	}
	return seeds
}

// quirks are server lines seen in the wild that strict parsers trip over
// (Gmail, Outlook, iCloud, Dovecot; see the go-clients notes §4).
var quirks = []string{
	"* BYE\r\n",
	"* OK [HIGHESTMODSEQ 1234]\r\n",
	"* CAPABILITY IMAP4rev1 X-GM-EXT-1 XLIST AUTH=XOAUTH2\r\n",
	"* 1 FETCH (X-GM-LABELS (\\Inbox \"a b\") X-GM-MSGID 123 UID 4)\r\n",
	"* 1 FETCH (BODY[] NIL)\r\n",
	"* 1 FETCH (BODYSTRUCTURE (\"text\" \"plain\" (\"charset\" \"\"\"\") NIL NIL \"7bit\" 3 1))\r\n",
	"* LIST (\\HasNoChildren) \"/\" \"a\\\"b\"\r\n",
	"* 0 EXISTS\r\n* 1 EXPUNGE\r\n",
	"* OK [PERMANENTFLAGS (\\Answered [x] \\*)] ok\r\n",
	"* 1 FETCH (BINARY[] ~{3}\r\nabc)\r\n",
	"* ESEARCH (TAG \"A1\") UID ALL 1:5\r\n",
	"+\r\n",
	"* SEARCH\r\n",
	"A1 ok\r\n",
}

// FuzzReadResponse: any server bytes either parse into responses or give
// an error; the reader never panics, never reads a literal it did not
// announce, and gives every response at least one Datum.
func FuzzReadResponse(f *testing.F) {
	for _, s := range serverBytes(f) {
		f.Add(s)
	}
	for _, q := range quirks {
		f.Add([]byte(q))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		src := bytes.NewReader(data)
		rr := &responseReader{r: bufio.NewReaderSize(src, 16), src: src, maxLine: 1 << 12, maxLiteral: 1 << 12}
		for i := 0; i < 1000; i++ {
			r, err := rr.read()
			if err != nil {
				return
			}
			require.NotEmpty(t, r.data, "response without data: %+v", r)
			size := 0
			for _, d := range r.data {
				size += len(d.Text) + len(d.Literal)
			}
			require.LessOrEqual(t, size, len(data), "the response holds more bytes than the server sent")
		}
	})
}

// FuzzArgument: whatever a caller passes, an argument either is refused or
// encodes to text without CR, LF or NUL (a literal carries the rest), and a
// quoted string is balanced: no input yields a second command line.
func FuzzArgument(f *testing.F) {
	for _, s := range []string{"INBOX", "a b", "", `"q"`, "(x)", "'1:*'", "x\r\ny", "Grüß", `a"b\`, "\"a\r\n\"", "(\n)", "1,2:*"} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, utf8 bool) {
		q := quoter{utf8: utf8}
		for i, encode := range []func(string) (arg, error){q.quoted, q.astring, verbatim, parenthesized} {
			a, err := encode(s)
			if err != nil {
				continue
			}
			require.False(t, strings.ContainsAny(a.text, "\r\n\x00"), "argument %q encodes to %q", s, a.text)
			if a.isLiteral {
				require.False(t, !bytes.Equal(a.literal, []byte(s)) && a.text == "", "literal %q does not carry %q", a.literal, s)
				continue
			}
			require.True(t, closedQuotes(a.text) && !endsWithLiteral(a.text), "argument %q encodes to %q, which breaks the command's framing", s, a.text)
			if i == 0 { // what the client quotes itself is one string
				require.True(t, balancedQuoted(a.text), "argument %q encodes to an unbalanced quoted string %q", s, a.text)
			}
		}
	})
}

// balancedQuoted reports whether s is exactly one quoted string.
func balancedQuoted(s string) bool {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return false
		}
	}
	return true
}

// FuzzSession: a whole connection fed arbitrary server bytes after the
// greeting never panics or hangs: every command completes once the server's
// bytes run out, and Shutdown returns.
func FuzzSession(f *testing.F) {
	for _, s := range serverBytes(f) {
		f.Add(s)
	}
	for _, q := range quirks {
		f.Add([]byte(q))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		client, server := net.Pipe()
		go func() {
			server.Write([]byte("* PREAUTH [CAPABILITY IMAP4rev1 IDLE LITERAL+] fuzz\r\n"))
			go func() { // the client's commands are read and dropped
				buf := make([]byte, 4096)
				for {
					if _, err := server.Read(buf); err != nil {
						return
					}
				}
			}()
			server.Write(data)
			server.Close()
		}()
		m, err := NewConn(client, &Options{MaxLiteralSize: 1 << 16})
		if err != nil {
			return
		}
		cmds := []*Command{m.Select("INBOX", false), m.Fetch("1:*", "(BODY[])"), m.Noop(), m.Idle(time.Minute), m.Append("", "", time.Time{}, []byte("x"))}
		deadline := time.Now().Add(3 * time.Second)
		for _, c := range cmds {
			waitWithin(t, c, time.Until(deadline))
		}
		m.Shutdown()
	})
}

// FuzzNormalizeCRLF checks APPEND's line-ending normalisation against its
// definition, one byte at a time: CRLF stays, a bare CR or LF becomes CRLF,
// every other byte is kept.
func FuzzNormalizeCRLF(f *testing.F) {
	for _, seed := range []string{"", "a\r\nb", "a\nb\n", "a\rb\r", "\r\r\n\n", "\n\r", "x\r", "Subject: hi\r\n\r\nbody\n.\r"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		var want []byte
		for i := 0; i < len(msg); i++ {
			switch {
			case msg[i] == '\r' && i+1 < len(msg) && msg[i+1] == '\n':
				want = append(want, '\r', '\n')
				i++
			case msg[i] == '\r' || msg[i] == '\n':
				want = append(want, '\r', '\n')
			default:
				want = append(want, msg[i])
			}
		}
		require.Equal(t, string(want), string(normalizeCRLF(msg)))
	})
}
