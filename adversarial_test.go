package imaplib2

// Adversarial tests of the connection engine: the read buffer's growth, the
// store of unsolicited responses, capability matching, the nil debug log,
// and the hand-offs between the reader and the writer when the server is
// fast, slow or gone. Each test asserts behaviour that a defect would break.

import (
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	_ "regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ---------------------------------------------------------------------------
// Helpers

// advConn is the server's end of a net.Pipe whose writes do not wait for
// the client: each Write is queued whole and delivered as one pipe write.
// A pipe read returns at most what is left of one write, so the client's
// reads split the server's bytes exactly where the server's writes and the
// client's buffer sizes say, while the server can read meanwhile, as over
// TCP.
type advConn struct {
	net.Conn
	queue   chan []byte
	flushed chan struct{}
	once    sync.Once
}

func newAdvConn(c net.Conn) *advConn {
	a := &advConn{Conn: c, queue: make(chan []byte, 4096), flushed: make(chan struct{})}
	go func() {
		defer close(a.flushed)
		failed := false
		for b := range a.queue {
			if !failed {
				_, err := a.Conn.Write(b)
				failed = err != nil
			}
		}
	}()
	return a
}

func (a *advConn) Write(p []byte) (int, error) {
	a.queue <- bytes.Clone(p)
	return len(p), nil
}

// finish delivers what is queued (or gives up once the client has closed
// its end) and closes the connection: the client then reads EOF.
func (a *advConn) finish() {
	a.once.Do(func() { close(a.queue) })
	<-a.flushed
	a.Conn.Close()
}

// advReadConn reads through r (which buffers the pipe) and writes to the
// advConn: the server's side of a TLS session started after a bufio read.
type advReadConn struct {
	*advConn
	r *bufio.Reader
}

func (c advReadConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// advPipe runs serve as the server of a new connection over a net.Pipe
// and returns the client, connected with NewConn. serve writes the
// greeting. When the test ends the client is shut down (bounded), the
// server is waited for, and no goroutine may be left.
func advPipe(t *testing.T, opts *Options, serve func(conn *advConn, r *bufio.Reader)) *IMAP4 {
	t.Helper()
	leaks := newLeakBaseline()
	cli, srv := net.Pipe()
	sc := newAdvConn(srv)
	served := make(chan struct{})
	go func() {
		defer close(served)
		defer sc.finish()
		serve(sc, bufio.NewReader(srv))
	}()
	m, err := NewConn(cli, opts)
	if err != nil {
		cli.Close()
		srv.Close()
		<-served
		t.Fatalf("NewConn: %v", err)
	}
	t.Cleanup(func() {
		if _, ok := shutdownBounded(t, m, 5*time.Second); !ok {
			t.Errorf("hang: Shutdown did not return within 5s")
		}
		srv.Close()
		receive(t, served, "the pipe server to end")
		leaks.check(t)
	})
	return m
}

// advLine reads one command line and returns its tag and the rest.
func advLine(r *bufio.Reader) (tag, rest string, err error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", "", err
	}
	tag, rest, _ = strings.Cut(strings.TrimRight(line, "\r\n"), " ")
	return tag, rest, nil
}

// advLongLine returns an unsolicited "* OK xxx" line of exactly n bytes,
// CRLF included.
func advLongLine(n int) string {
	return "* OK " + strings.Repeat("x", n-7) + "\r\n"
}

// advHeld returns a long line after which the client's small read buffer
// holds exactly held bytes of what follows it, when the line starts a
// burst that the client reads from an empty buffer (see advConn): the small
// buffer is filled smallReadBuffer bytes at a time. The line is long
// enough that the read buffer grows before the next response is read.
func advHeld(held int) string {
	const chunks = busyConnection/smallReadBuffer + 8
	return advLongLine(chunks*smallReadBuffer - held)
}

// advDrain reads until the connection ends.
func advDrain(r io.Reader) { io.Copy(io.Discard, r) }

// advWithin runs fn and fails the test as a hang if it does not return
// within defectHang.
func advWithin(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	if _, ok := within(done, defectHang); !ok {
		t.Fatalf("hang: %s did not return within %v", what, defectHang)
	}
}

// ---------------------------------------------------------------------------
// The read buffer's growth

// advSummary is what a test compares of a response.
type advSummary struct {
	Kind           responseKind
	Tag, Typ, Text string
	Num            uint32
	Code, Detail   string
	Data           []Datum
}

func advSummarize(r *response) advSummary {
	return advSummary{r.kind, r.tag, r.typ, r.text, r.num, r.code, r.detail, slices.Clone(r.data)}
}

// advReadAll reads every response rr gives until an error.
func advReadAll(rr *responseReader) ([]advSummary, error) {
	var all []advSummary
	for {
		r, err := rr.read()
		if err != nil {
			return all, err
		}
		all = append(all, advSummarize(r))
	}
}

// advAfterGrowth is what follows the long line in the growth tests: every
// kind of response, with literals holding CRLF and literal announcements,
// a literal of 0 bytes, a long line and a bare LF line ending.
func advAfterGrowth() string {
	lit := strings.Repeat("body line {5}\r\n", 20) // 300 bytes
	return "* 2 FETCH (UID 7 BODY[] {300}\r\n" + lit + " BODY[HEADER] {0}\r\n)\r\n" +
		"+ go on\r\n" +
		"A0001 OK [APPENDUID 1 2] done\r\n" +
		"* 3 EXISTS\r\n" +
		"* OK text ending like a literal {5}\r\n" +
		"* SEARCH 1 2 3\n" +
		"* LIST () \"/\" {3}\r\nfoo\r\n" +
		"* 4 FETCH (BODY[TEXT] {2000}\r\n" + strings.Repeat("y", 2000) + ")\r\n" +
		"* " + strings.Repeat("z", 3000) + "\r\n" +
		"A0002 NO last\r\n"
}

// TestAdversarialGrowthEverySplit: the read buffer grows after 64 KiB with
// bytes of the next responses still in the small buffer, for every number
// of such bytes (so every byte boundary of the following responses, in a
// literal's announcement, its body, the line after it, a continuation, a
// tagged line, falls at the growth point). What is read must be exactly
// what a reader that never grows reads.
func TestAdversarialGrowthEverySplit(t *testing.T) {
	after := advAfterGrowth()
	reference := func(stream string) []advSummary {
		rr := newResponseReader(strings.NewReader(stream), DefaultMaxLineSize, DefaultMaxLiteralSize)
		rr.r = bufio.NewReaderSize(strings.NewReader(stream), 1<<20) // never grows
		want, err := advReadAll(rr)
		require.ErrorIs(t, err, io.EOF)
		return want
	}
	want := reference(advHeld(0) + after)
	require.Len(t, want, 11, "responses in the stream")
	require.Equal(t, []Datum{lit("2 (UID 7 BODY[] {300}", strings.Repeat("body line {5}\r\n", 20)), lit(" BODY[HEADER] {0}", ""), txt(")")}, want[1].Data)
	require.Equal(t, continuationResponse, want[2].Kind)
	require.Equal(t, "APPENDUID", want[3].Code)

	for held := 0; held < smallReadBuffer; held++ {
		stream := advHeld(held) + after
		rr := newResponseReader(strings.NewReader(stream), DefaultMaxLineSize, DefaultMaxLiteralSize)
		got, err := advReadAll(rr)
		require.ErrorIs(t, err, io.EOF, "held %d", held)
		want[0] = got[0] // the long line's length differs
		require.Len(t, got, len(want), "held %d", held)
		require.Equal(t, want[1:], got[1:], "held %d", held)
		require.Equal(t, largeReadBuffer, rr.r.Size(), "held %d: the buffer grew", held)
	}
}

// TestAdversarialGrowthOddReaders: growth under a source that returns one
// byte at a time, half of what is asked, and EOF together with the last
// bytes; and a stream cut off right after the growth point, in a literal,
// is an unexpected EOF, never a response with missing bytes.
func TestAdversarialGrowthOddReaders(t *testing.T) {
	stream := advHeld(37) + advAfterGrowth()
	ref := newResponseReader(strings.NewReader(stream), DefaultMaxLineSize, DefaultMaxLiteralSize)
	ref.r = bufio.NewReaderSize(strings.NewReader(stream), 1<<20)
	want, err := advReadAll(ref)
	require.ErrorIs(t, err, io.EOF)
	for name, src := range map[string]io.Reader{
		"one byte": iotest.OneByteReader(strings.NewReader(stream)),
		"half":     iotest.HalfReader(strings.NewReader(stream)),
		"data+EOF": iotest.DataErrReader(strings.NewReader(stream)),
	} {
		rr := newResponseReader(src, DefaultMaxLineSize, DefaultMaxLiteralSize)
		got, err := advReadAll(rr)
		require.ErrorIs(t, err, io.EOF, name)
		require.Equal(t, want, got, name)
		require.Equal(t, largeReadBuffer, rr.r.Size(), name)
	}
	// Cut in the FETCH literal that follows the growth point.
	for _, held := range []int{0, 1, 99, 100, 101, 300} {
		stream := advHeld(held) + advAfterGrowth()
		stream = stream[:len(advHeld(held))+100]
		rr := newResponseReader(strings.NewReader(stream), DefaultMaxLineSize, DefaultMaxLiteralSize)
		got, err := advReadAll(rr)
		require.ErrorIs(t, err, io.ErrUnexpectedEOF, "held %d", held)
		require.Len(t, got, 1, "held %d: only the long line is whole", held)
	}
}

// TestAdversarialGrowthSTARTTLSInjection: the read buffer grows exactly
// when the STARTTLS OK is read, with bytes injected after it in the same
// packet, for every way the small buffer can split the OK and the injected
// bytes. The injection must never be read as if it came over TLS: STARTTLS
// fails with ErrAbort, by refusing the bytes when the client holds them,
// or by a failed handshake when they are still on the wire (the OK line
// ended exactly at the small buffer's end).
func TestAdversarialGrowthSTARTTLSInjection(t *testing.T) {
	const injected = "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n"
	const okText = " OK Begin TLS negotiation now\r\n"
	_, pool, err := harnessCert()
	require.NoError(t, err)
	for held := 0; held <= 4+8+len(okText)+len(injected); held++ {
		t.Run(strconv.Itoa(held), func(t *testing.T) {
			okLen := make(chan int, 1)
			m := advPipe(t, nil, func(conn *advConn, r *bufio.Reader) {
				io.WriteString(conn, "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n")
				tag, rest, err := advLine(r)
				if err != nil || rest != "STARTTLS" {
					return
				}
				okLen <- len(tag) + len(okText)
				io.WriteString(conn, advHeld(held)+tag+okText+injected)
				advDrain(r)
			})
			cmd := m.StartTLS(&tls.Config{RootCAs: pool, ServerName: "localhost"})
			_, err := waitDone(t, cmd, "STARTTLS")
			require.Error(t, err, "STARTTLS must not succeed with injected bytes")
			require.ErrorIs(t, err, ErrAbort)
			if held != receive(t, okLen, "the OK's length") {
				assert.Contains(t, err.Error(), "injection", "the client held the injected bytes")
			}
			assert.NotContains(t, m.Capabilities(), "AUTH=PLAIN", "injected capabilities must not be believed")
		})
	}
}

// TestAdversarialGrowthThenSTARTTLS: the control of the test above: the
// buffer grows when the STARTTLS OK is read, nothing follows it, and TLS
// starts and carries the session.
func TestAdversarialGrowthThenSTARTTLS(t *testing.T) {
	cert, pool, err := harnessCert()
	require.NoError(t, err)
	for _, held := range []int{0, 1, 20, 511} {
		t.Run(strconv.Itoa(held), func(t *testing.T) {
			m := advPipe(t, nil, func(conn *advConn, r *bufio.Reader) {
				io.WriteString(conn, "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n")
				tag, rest, err := advLine(r)
				if err != nil || rest != "STARTTLS" {
					return
				}
				io.WriteString(conn, advHeld(held)+tag+" OK Begin TLS\r\n")
				tc := tls.Server(advReadConn{conn, r}, &tls.Config{Certificates: []tls.Certificate{cert}})
				if tc.Handshake() != nil {
					return
				}
				tr := bufio.NewReader(tc)
				for {
					tag, rest, err := advLine(tr)
					if err != nil {
						return
					}
					switch rest {
					case "CAPABILITY":
						io.WriteString(tc, "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n"+tag+" OK done\r\n")
					case "LOGOUT":
						io.WriteString(tc, "* BYE bye\r\n"+tag+" OK done\r\n")
						return
					default:
						io.WriteString(tc, tag+" OK "+rest+"\r\n")
					}
				}
			})
			waitDoneOK(t, m.StartTLS(&tls.Config{RootCAs: pool, ServerName: "localhost"}), "STARTTLS")
			assert.Equal(t, []string{"IMAP4REV1", "AUTH=PLAIN"}, m.Capabilities())
			assert.Equal(t, "OK", waitDoneOK(t, m.Noop(), "NOOP over TLS").Type)
			assert.Equal(t, "BYE", waitDoneOK(t, m.Logout(), "LOGOUT").Type)
		})
	}
}

// TestAdversarialGrowthThenCompress: the read buffer grows when the
// COMPRESS OK is read, with compressed data following it in the same
// packet, split by the small buffer at every byte. The compressed data
// must be inflated, none of it lost or read as plain text.
func TestAdversarialGrowthThenCompress(t *testing.T) {
	var zbuf bytes.Buffer
	zw, _ := flate.NewWriter(&zbuf, flate.DefaultCompression)
	zw.Write([]byte("* 7 EXISTS\r\n* 8 RECENT\r\n"))
	zw.Flush()
	first := zbuf.Len()
	for held := 0; held <= 4+8+20+first; held++ {
		t.Run(strconv.Itoa(held), func(t *testing.T) {
			m := advPipe(t, nil, func(conn *advConn, r *bufio.Reader) {
				io.WriteString(conn, "* PREAUTH [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE] ready\r\n")
				tag, rest, err := advLine(r)
				if err != nil || rest != "COMPRESS DEFLATE" {
					return
				}
				var out bytes.Buffer
				zw, _ := flate.NewWriter(&out, flate.DefaultCompression)
				zsend := func(s string) {
					zw.Write([]byte(s))
					zw.Flush()
					conn.Write(out.Bytes())
					out.Reset()
				}
				out.WriteString(advHeld(held) + tag + " OK DEFLATE active\r\n")
				zsend("* 7 EXISTS\r\n* 8 RECENT\r\n")
				zr := bufio.NewReader(flate.NewReader(r))
				for {
					tag, rest, err := advLine(zr)
					if err != nil {
						return
					}
					if rest == "LOGOUT" {
						zsend("* BYE bye\r\n" + tag + " OK done\r\n")
						return
					}
					if rest == "XFLOOD" {
						zsend(advHeld(held) + "* 9 EXISTS\r\n" + tag + " OK flooded\r\n")
						continue
					}
					zsend(tag + " OK " + rest + "\r\n")
				}
			})
			var err error
			advWithin(t, "EnableCompression", func() { err = m.EnableCompression() })
			require.NoError(t, err)
			waitDoneOK(t, m.Noop(), "NOOP compressed")
			assert.Equal(t, []Datum{txt("7")}, m.Response("EXISTS").Data)
			// 64 KiB more, inflated: the reader of the inflated stream grows too.
			waitDoneOK(t, m.Xatom("XFLOOD"), "XFLOOD compressed")
			assert.Equal(t, []Datum{txt("9")}, m.Response("EXISTS").Data)
			assert.Equal(t, []Datum{txt("8")}, m.Response("RECENT").Data)
			assert.Equal(t, "BYE", waitDoneOK(t, m.Logout(), "LOGOUT").Type)
		})
	}
}

// TestAdversarialGrowthPipelinedRouting: after 64 KiB, pipelined FETCHes,
// STATUSes and ESEARCHes are answered in reverse order in one packet, split
// at every byte by the growth point. Each command gets its own data.
func TestAdversarialGrowthPipelinedRouting(t *testing.T) {
	body1, body2 := strings.Repeat("one\r\n", 30), strings.Repeat("two {3}\r\n", 12)
	for held := 0; held <= 420; held += 3 {
		t.Run(strconv.Itoa(held), func(t *testing.T) {
			m := advPipe(t, nil, func(conn *advConn, r *bufio.Reader) {
				io.WriteString(conn, "* PREAUTH [CAPABILITY IMAP4rev1 ESEARCH] ready\r\n")
				tag, _, err := advLine(r)
				if err != nil {
					return
				}
				io.WriteString(conn, "* 2 EXISTS\r\n"+tag+" OK [READ-WRITE] selected\r\n")
				tags := map[string]string{}
				for range 6 {
					tag, rest, err := advLine(r)
					if err != nil {
						return
					}
					tags[rest] = tag
				}
				reply := advHeld(held) +
					fmt.Sprintf("* ESEARCH (TAG \"%s\") UID COUNT 2\r\n", tags[`UID SEARCH RETURN (COUNT) FROM b`]) +
					fmt.Sprintf("* 2 FETCH (UID 20 BODY[] {%d}\r\n%s)\r\n", len(body2), body2) +
					"* STATUS b (MESSAGES 2)\r\n" +
					fmt.Sprintf("* ESEARCH (TAG \"%s\") UID COUNT 1\r\n", tags[`UID SEARCH RETURN (COUNT) FROM a`]) +
					fmt.Sprintf("* 1 FETCH (UID 10 BODY[] {%d}\r\n%s)\r\n", len(body1), body1) +
					"* STATUS a (MESSAGES 1)\r\n"
				for _, k := range []string{`UID SEARCH RETURN (COUNT) FROM b`, `UID SEARCH RETURN (COUNT) FROM a`, "STATUS b (MESSAGES)", "STATUS a (MESSAGES)", "FETCH 2 (UID BODY[])", "FETCH 1 (UID BODY[])"} {
					reply += tags[k] + " OK done\r\n"
				}
				io.WriteString(conn, reply)
				advDrain(r)
			})
			waitDoneOK(t, m.Select("INBOX", false), "SELECT")
			f1, f2 := m.Fetch("1", "(UID BODY[])"), m.Fetch("2", "(UID BODY[])")
			s1, s2 := m.Status("a", "(MESSAGES)"), m.Status("b", "(MESSAGES)")
			e1, e2 := m.UID("SEARCH", "RETURN", "(COUNT)", "FROM", "a"), m.UID("SEARCH", "RETURN", "(COUNT)", "FROM", "b")
			assert.Equal(t, []Datum{lit(fmt.Sprintf("1 (UID 10 BODY[] {%d}", len(body1)), body1), txt(")")}, waitDoneOK(t, f1, "FETCH 1").Data)
			assert.Equal(t, []Datum{lit(fmt.Sprintf("2 (UID 20 BODY[] {%d}", len(body2)), body2), txt(")")}, waitDoneOK(t, f2, "FETCH 2").Data)
			assert.Equal(t, []Datum{txt("a (MESSAGES 1)")}, waitDoneOK(t, s1, "STATUS a").Data)
			assert.Equal(t, []Datum{txt("b (MESSAGES 2)")}, waitDoneOK(t, s2, "STATUS b").Data)
			es1, err := waitDoneOK(t, e1, "ESEARCH a").ESearch()
			require.NoError(t, err)
			es2, err := waitDoneOK(t, e2, "ESEARCH b").ESearch()
			require.NoError(t, err)
			assert.Equal(t, uint32(1), es1.Count)
			assert.Equal(t, uint32(2), es2.Count)
		})
	}
}

// ---------------------------------------------------------------------------
// The store of unsolicited responses

// TestAdversarialStoreModel: the store against a plain list, with every
// operation the connection uses (add, take, putBack of a failed command's
// data, popAll, flush), for limits below, at and above countedStore. The
// type counts, once kept, must always match the entries.
func TestAdversarialStoreModel(t *testing.T) {
	types := []string{"EXISTS", "RECENT", "FLAGS", "OK", "FETCH", "UIDVALIDITY"}
	for _, limit := range []int{1, 5, countedStore - 1, countedStore, countedStore + 1, 3 * countedStore, DefaultMaxStoredResponses} {
		t.Run(strconv.Itoa(limit), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(limit), 7))
			s := unsolicitedStore{limit: limit}
			var list, held []entry // held: collected by a command that may fail
			seq := uint64(0)
			trim := func() {
				for len(list) > limit {
					list = list[1:]
				}
			}
			counted := 0
			for i := range 6000 {
				typ := types[rng.IntN(len(types))]
				switch op := rng.IntN(1000); {
				case op < 3:
					s.flush()
					list = nil
				case op < 8:
					var want []Untagged
					for _, e := range list {
						if n := len(want); n > 0 && want[n-1].Type == e.typ {
							want[n-1].Data = append(want[n-1].Data, e.data...)
						} else {
							want = append(want, Untagged{Type: e.typ, Data: slices.Clone(e.data)})
						}
					}
					require.Equal(t, want, s.popAll(), "popAll at step %d", i)
					list = nil
				case op < 15: // before a command is sent
					s.discardStatus()
					list = slices.DeleteFunc(list, func(e entry) bool { return e.typ == "OK" || e.typ == "NO" || e.typ == "BAD" })
				case op < 60:
					var want []Datum
					var kept []entry
					for _, e := range list {
						if e.typ == typ {
							want = append(want, e.data...)
						} else {
							kept = append(kept, e)
						}
					}
					list = kept
					require.Equal(t, want, s.take(typ), "take %s at step %d", typ, i)
				case op < 90 && len(held) > 0: // the command failed: its data goes back
					s.putBack(held)
					list = append(list, held...)
					slices.SortStableFunc(list, func(a, b entry) int { return int(a.seq) - int(b.seq) })
					trim()
					held = nil
				case op < 200: // a command collects it
					seq++
					held = append(held, entry{seq: seq, typ: typ, data: []Datum{{Text: "c" + strconv.Itoa(i)}}})
				case op < 250: // a status response with a code: two entries, one arrival
					seq++
					for _, e := range []entry{{seq: seq, typ: "OK", data: []Datum{{Text: "[UIDNEXT 4] x"}}}, {seq: seq, typ: "UIDNEXT", data: []Datum{{Text: strconv.Itoa(i)}}}} {
						s.add(e)
						list = append(list, e)
						trim()
					}
				default:
					seq++
					e := entry{seq: seq, typ: typ, data: []Datum{{Text: strconv.Itoa(i)}}}
					s.add(e)
					list = append(list, e)
					trim()
				}
				if len(list) != len(s.entries) {
					t.Fatalf("step %d: %d entries, want %d", i, len(s.entries), len(list))
				}
				n := map[string]int{}
				for k, e := range list {
					if e.seq != s.entries[k].seq || e.typ != s.entries[k].typ {
						t.Fatalf("step %d: entry %d is %d %s, want %d %s", i, k, s.entries[k].seq, s.entries[k].typ, e.seq, e.typ)
					}
					n[e.typ]++
				}
				if s.counts != nil {
					counted++
					for _, typ := range types {
						if n[typ] != s.counts[typ] {
							t.Fatalf("step %d: count of %s is %d, want %d", i, typ, s.counts[typ], n[typ])
						}
					}
				}
			}
			if limit >= countedStore {
				require.Positive(t, counted, "steps with counted entries")
			}
		})
	}
}

// advUnsolicited returns n script lines of unsolicited data, cycling
// through EXISTS, RECENT and FETCH, and what each type's lines carry.
func advUnsolicited(n, from int) (script string, byType map[string][]Datum, order []entry) {
	var b strings.Builder
	byType = map[string][]Datum{}
	for i := from; i < from+n; i++ {
		typ, rest := "EXISTS", ""
		switch i % 3 {
		case 1:
			typ = "RECENT"
		case 2:
			typ, rest = "FETCH", " (FLAGS (\\Seen))"
		}
		fmt.Fprintf(&b, "S: * %d %s%s\n", i, typ, rest)
		text := strconv.Itoa(i) + rest
		byType[typ] = append(byType[typ], txt(text))
		order = append(order, entry{typ: typ, data: []Datum{txt(text)}})
	}
	return b.String(), byType, order
}

// TestAdversarialStoreAcrossThreshold: Response, Recent and
// PopUntaggedResponses across countedStore entries, with a store that
// keeps everything and one that drops the oldest, before and after a
// SELECT forgets the store.
func TestAdversarialStoreAcrossThreshold(t *testing.T) {
	t.Run("large", func(t *testing.T) {
		first, want, _ := advUnsolicited(2*countedStore, 1)
		second, want2, _ := advUnsolicited(countedStore+5, 500)
		m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1] ready
C: $1 NOOP
`+first+`
S: $1 OK done
C: $2 NOOP
`+second+`
S: $2 OK done
C: $3 SELECT INBOX
S: * 9 EXISTS
S: * 2 RECENT
S: * OK [UIDVALIDITY 3] ok
S: $3 OK [READ-WRITE] done
C: $4 NOOP
S: * 4 RECENT
S: $4 OK done
`), nil)
		waitDoneOK(t, m.Noop(), "NOOP")
		assert.Equal(t, Result{Type: "FLAGS", Data: []Datum{{}}}, m.Response("FLAGS"), "an absent type")
		assert.Equal(t, Result{Type: "exists", Data: want["EXISTS"]}, m.Response("exists"), "every EXISTS, in order")
		assert.Equal(t, Result{Type: "EXISTS", Data: []Datum{{}}}, m.Response("EXISTS"), "taken")
		rec := waitDoneOK(t, m.Recent(), "Recent from the store")
		assert.Equal(t, want["RECENT"], rec.Data)
		assert.Equal(t, []Untagged{{Type: "FETCH", Data: want["FETCH"]}}, m.PopUntaggedResponses(), "the FETCHes, grouped")
		assert.Empty(t, m.PopUntaggedResponses())

		waitDoneOK(t, m.Noop(), "second NOOP")
		assert.Equal(t, want2["RECENT"], m.Response("RECENT").Data)
		assert.Equal(t, want2["FETCH"], m.Response("FETCH").Data)
		assert.Equal(t, want2["EXISTS"], m.Response("EXISTS").Data)

		waitDoneOK(t, m.Select("INBOX", false), "SELECT")
		assert.Equal(t, []Datum{txt("3")}, m.Response("UIDVALIDITY").Data)
		assert.Equal(t, []Datum{txt("2")}, waitDoneOK(t, m.Recent(), "Recent after SELECT").Data, "only the RECENT of the new selection")
		assert.Equal(t, []Datum{txt("4")}, waitDoneOK(t, m.Recent(), "Recent that asks the server").Data)
	})
	for _, limit := range []int{countedStore - 1, countedStore, countedStore + 1, 100} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			first, _, order := advUnsolicited(3*countedStore, 1)
			m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1] ready
C: $1 NOOP
`+first+`
S: $1 OK done
C: $2 SELECT INBOX
S: * 9 EXISTS
S: $2 OK [READ-WRITE] done
C: $3 NOOP
`+strings.Repeat("S: * 1 RECENT\n", countedStore+3)+`
S: $3 OK done
`), &Options{MaxStoredResponses: limit})
			waitDoneOK(t, m.Noop(), "NOOP")
			kept := order[len(order)-limit:]
			want := map[string][]Datum{}
			for _, e := range kept {
				want[e.typ] = append(want[e.typ], e.data...)
			}
			assert.Equal(t, want["RECENT"], m.Response("RECENT").Data, "the newest RECENTs")
			assert.Equal(t, want["EXISTS"], m.Response("EXISTS").Data, "the newest EXISTS")
			assert.Equal(t, []Untagged{{Type: "FETCH", Data: want["FETCH"]}}, m.PopUntaggedResponses())
			waitDoneOK(t, m.Select("INBOX", false), "SELECT")
			assert.Equal(t, []Datum{{}}, m.Response("FETCH").Data, "SELECT forgot the store")
			waitDoneOK(t, m.Noop(), "NOOP after SELECT")
			// The store holds the SELECT's READ-WRITE code, then the RECENTs.
			assert.Len(t, m.Response("RECENT").Data, min(limit, countedStore+3))
			var rest []Untagged
			if limit > countedStore+3 {
				rest = []Untagged{{Type: "READ-WRITE", Data: []Datum{{}}}}
			}
			assert.Equal(t, rest, m.PopUntaggedResponses())
		})
	}
}

// ---------------------------------------------------------------------------
// Capabilities

// TestAdversarialCapabilitySpellings: capabilities announced with tabs,
// repeated spaces, lower case, and names that are a prefix or suffix of
// the ones the client looks for. The client must match whole names only,
// and refuse, without sending anything, what the server does not offer.
func TestAdversarialCapabilitySpellings(t *testing.T) {
	t.Run("odd spacing and case", func(t *testing.T) {
		m := connect(t, newScriptServer(t, t.Name(), "S: * PREAUTH [CAPABILITY imap4rev1\tidle  literal+ \tXIDLE ] ready\n"+`
C: $1 APPEND INBOX {5+}
C~ hello\r\n
S: $1 OK appended
C: $2 IDLE
S: + idling
C: DONE
S: $2 OK done
`), nil)
		assert.Equal(t, []string{"IMAP4REV1", "IDLE", "LITERAL+", "XIDLE"}, m.Capabilities())
		assert.Equal(t, "IMAP4REV1", m.ProtocolVersion())
		waitDoneOK(t, m.Append("INBOX", "", time.Time{}, []byte("hello")), "APPEND with LITERAL+")
		waitDoneOK(t, m.Idle(time.Millisecond), "IDLE, ended by its timeout")
	})
	t.Run("prefixes and suffixes", func(t *testing.T) {
		m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY XIMAP4 IMAP4rev2x IMAP4rev1 XIDLE IDLEX LITERAL++ XLITERAL+ LITERAL-X COMPRESS=DEFLATEX ENABLED XENABLE] ready
C: $1 APPEND INBOX {5}
S: + go ahead
C~ hello\r\n
S: $1 OK appended
`), nil)
		assert.Equal(t, "IMAP4REV1", m.ProtocolVersion())
		err := waitFails(t, m.Idle(time.Minute))
		assert.Contains(t, err.Error(), "IDLE")
		waitFails(t, m.Enable("CONDSTORE"))
		var cerr error
		advWithin(t, "EnableCompression", func() { cerr = m.EnableCompression() })
		assert.ErrorIs(t, cerr, ErrError)
		assert.NotErrorIs(t, cerr, ErrAbort)
		waitDoneOK(t, m.Append("INBOX", "", time.Time{}, []byte("hello")), "APPEND waits for the +: no LITERAL+ or LITERAL-")
	})
	t.Run("STARTTLS suffix", func(t *testing.T) {
		m := connect(t, newScriptServer(t, t.Name(), `
S: * OK [CAPABILITY IMAP4rev1 STARTTLSX XSTARTTLS] ready
`), nil)
		_, err := waitDone(t, m.StartTLS(nil), "STARTTLS not offered")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "STARTTLS")
	})
	for _, tc := range []struct{ caps, version string }{
		{"IMAP4rev2 IMAP4rev1", "IMAP4REV2"},
		{"imap4REV1 IMAP4rev2x", "IMAP4REV1"},
		{"IMAP4", "IMAP4"},
		{"XIMAP4REV2 IMAP4X IMAP4", "IMAP4"},
	} {
		t.Run("version "+tc.caps, func(t *testing.T) {
			m := connect(t, newScriptServer(t, t.Name(), "S: * PREAUTH [CAPABILITY "+tc.caps+"] ready\n"), nil)
			assert.Equal(t, tc.version, m.ProtocolVersion())
		})
	}
	t.Run("no version", func(t *testing.T) {
		srv := newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY XIMAP4REV1 IMAP4REV1X IMAP] ready
!expect-eof
`)
		_, err := New(srv.Host(), &Options{Port: srv.Port()})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "IMAP4")
		srv.Wait()
	})
	t.Run("lower-case CAPABILITY response, repeated spaces", func(t *testing.T) {
		m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH ready
C: $1 CAPABILITY
S: * capability  imap4rev1   idle  
S: $1 ok done
`), nil)
		assert.Equal(t, []string{"IMAP4REV1", "IDLE"}, m.Capabilities())
	})
}

// TestAdversarialCapabilitiesAfterLogin: the capabilities a server
// announces with LOGIN (a code on the tagged OK, an untagged CAPABILITY or
// an untagged OK with a code) replace the old ones, and the client then
// asks for none; without them it asks. What the new list lacks is refused.
func TestAdversarialCapabilitiesAfterLogin(t *testing.T) {
	greeting := "S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN IDLE] ready\n"
	cases := []struct{ name, script string }{
		{"tagged code", `
C: $1 LOGIN alice "secret"
S: $1 OK [CAPABILITY IMAP4rev1 LITERAL+ ENABLE] logged in
`},
		{"untagged CAPABILITY", `
C: $1 LOGIN alice "secret"
S: * CAPABILITY IMAP4rev1 LITERAL+ ENABLE
S: $1 OK logged in
`},
		{"untagged OK code", `
C: $1 LOGIN alice "secret"
S: * OK [CAPABILITY IMAP4rev1 LITERAL+ ENABLE] hello
S: $1 OK logged in
`},
		{"asked", `
C: $1 LOGIN alice "secret"
S: $1 OK logged in
C: $2 CAPABILITY
S~ * CAPABILITY IMAP4rev1\tLITERAL+   ENABLE\r\n
S: $2 OK done
`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := connect(t, newScriptServer(t, t.Name(), greeting+tc.script+`
C: $9 APPEND INBOX {5+}
C~ hello\r\n
S: $9 OK appended
`), nil)
			waitDoneOK(t, m.Login("alice", "secret"), "LOGIN")
			assert.Equal(t, []string{"IMAP4REV1", "LITERAL+", "ENABLE"}, m.Capabilities())
			waitFails(t, m.Idle(time.Minute))
			waitDoneOK(t, m.Append("INBOX", "", time.Time{}, []byte("hello")), "APPEND with LITERAL+")
		})
	}
}

// ---------------------------------------------------------------------------
// The debug log at level 0 is nil

// TestAdversarialDebugNil: at Debug 0 the debug log is nil, and every path
// that writes to it must cope: an unexpected "+", a garbage line, a reply
// for an unknown tag, a BAD (which dumps the log), panicking callbacks and
// Unsolicited handlers, IDLE, a BYE that ends the connection, and a
// callback registered after the end. The same paths at Debug 5, with a
// writer or a Logger, record the panics.
func TestAdversarialDebugNil(t *testing.T) {
	script := `
S: * PREAUTH [CAPABILITY IMAP4rev1 IDLE] ready
C: $1 NOOP
S: + unexpected continuation
S: garbage that is no response
S: ZZZ9 OK answer for an unknown tag
S: * 3 EXISTS
S: $1 BAD nope
C: $2 NOOP
S: $2 OK fine
C: $3 IDLE
S: + idling
C: DONE
S: $3 OK done
C: $4 NOOP
S: * BYE going away
!eof
`
	var buf syncBuffer
	cases := map[string]Options{
		"zero":           {},
		"zero+logger":    {Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))},
		"zero+buflvl":    {DebugBufLvl: 9, DebugWriter: &buf},
		"negative":       {Debug: -1, DebugWriter: &buf},
		"five+writer":    {Debug: 5, DebugWriter: &buf},
		"five+logger":    {Debug: 5, Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))},
		"one+small ring": {Debug: 1, DebugBufLvl: 1, DebugWriter: &buf},
	}
	for name, opts := range cases {
		t.Run(name, func(t *testing.T) {
			buf.mu.Lock()
			buf.buf.Reset()
			buf.mu.Unlock()
			unsolicited := make(chan struct{})
			var once sync.Once
			opts.Unsolicited = func(u Untagged) {
				once.Do(func() { close(unsolicited) })
				panic("unsolicited handler panics")
			}
			m := connect(t, newScriptServer(t, t.Name(), script), &opts)
			waitFails(t, m.Noop())
			called := make(chan struct{})
			waitDoneOK(t, m.Noop().OnDone(func(Result, error) {
				close(called)
				panic("callback panics")
			}), "NOOP")
			receive(t, called, "the callback")
			receive(t, unsolicited, "the Unsolicited handler")
			waitDoneOK(t, m.Idle(time.Millisecond), "IDLE")
			waitAborts(t, m.Noop())
			waitStopped(t, m)
			late := make(chan struct{})
			m.Noop().OnDone(func(Result, error) {
				close(late)
				panic("late callback panics")
			})
			receive(t, late, "the callback registered after the end")
			if opts.Debug >= 1 {
				assert.Contains(t, buf.String(), "callback panicked", "the panic is reported in the debug log")
			} else {
				assert.Empty(t, buf.String(), "nothing is logged at Debug %d", opts.Debug)
			}
		})
	}
}

// advStreamServer is a shell IMAP server for NewStream that writes to its
// standard error before, during and after the session, the last time
// without a newline.
const advStreamServer = `printf '* PREAUTH [CAPABILITY IMAP4rev1] stream ready\r\n'
printf 'stderr one\nstderr two\r\n' >&2
while read -r tag cmd rest; do
  cmd=$(printf %s "$cmd" | tr -d '\r')
  echo "got $cmd" >&2
  case "$cmd" in
    LOGOUT) printf '* BYE bye\r\n%s OK done\r\n' "$tag"; printf 'no newline at the end' >&2; exit 0;;
    *) printf '%s OK done\r\n' "$tag";;
  esac
done
printf 'stdin closed' >&2`

// TestAdversarialStreamDebug: NewStream sends the command's standard error
// to the debug log, which is nil at Debug 0; the stream must work, log
// nothing, and leave no goroutine after Logout or Shutdown.
func TestAdversarialStreamDebug(t *testing.T) {
	for _, level := range []int{0, 1} {
		for _, end := range []string{"Logout", "Shutdown"} {
			t.Run(fmt.Sprintf("debug %d %s", level, end), func(t *testing.T) {
				checkLeaks(t)
				var buf syncBuffer
				m, err := NewStream(advStreamServer, &Options{Debug: level, DebugWriter: &buf})
				require.NoError(t, err)
				waitDoneOK(t, m.Noop(), "NOOP")
				if end == "Logout" {
					assert.Equal(t, "BYE", waitDoneOK(t, m.Logout(), "LOGOUT").Type)
				} else {
					advWithin(t, "Shutdown", func() { m.Shutdown() })
				}
				waitStopped(t, m)
				log := buf.String()
				if level == 0 {
					assert.Empty(t, log)
					return
				}
				assert.Contains(t, log, "stderr: stderr one\n")
				assert.Contains(t, log, "stderr: stderr two\n")
				assert.Contains(t, log, "stderr: got NOOP\n")
			})
		}
	}
}

// ---------------------------------------------------------------------------
// Hand-offs between the writer and the reader

// A lagConn is the client's end of a connection whose writes return late:
// a write that lagAfter gives a marker for is delivered at once, but
// returns only when the client has read the marker from the server and,
// if back is set, has come back for more (so it has handled it) — the
// server answered before the writer got to register what it waits for
// after writing. A write is also released when the connection is closed,
// and, as a last resort, after defectHang (counted as a timeout).
type lagConn struct {
	net.Conn
	lagAfter func(p []byte) (marker string, back bool)

	mu       sync.Mutex
	marker   string
	waitBack bool
	got      []byte // read since the held write
	seen     bool
	release  chan struct{}
	released int
	timeouts int

	closeOnce sync.Once
	closed    chan struct{}
}

func newLag(lagAfter func(p []byte) (string, bool)) *lagConn {
	return &lagConn{lagAfter: lagAfter, closed: make(chan struct{})}
}

func (c *lagConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if c.release != nil && c.seen {
		close(c.release)
		c.release, c.seen = nil, false
		c.released++
	}
	c.mu.Unlock()
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	if c.release != nil && !c.seen {
		c.got = append(c.got, p[:n]...)
		if bytes.Contains(c.got, []byte(c.marker)) {
			c.seen = true
			if !c.waitBack {
				close(c.release)
				c.release, c.seen = nil, false
				c.released++
			}
		}
	}
	c.mu.Unlock()
	return n, err
}

func (c *lagConn) Write(p []byte) (int, error) {
	var release chan struct{}
	if marker, back := c.lagAfter(p); marker != "" {
		release = make(chan struct{})
		c.mu.Lock()
		c.marker, c.waitBack, c.got, c.seen, c.release = marker, back, nil, false, release
		c.mu.Unlock()
	}
	n, err := c.Conn.Write(p)
	if release != nil {
		select {
		case <-release:
		case <-c.closed:
		case <-time.After(defectHang):
			c.mu.Lock()
			c.timeouts++
			if c.release == release {
				c.release = nil
			}
			c.mu.Unlock()
		}
	}
	return n, err
}

func (c *lagConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

func (c *lagConn) counts() (released, timeouts int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.released, c.timeouts
}

// connectLag connects to srv over NewConn with the client's end wrapped
// in lag.
func connectLag(t *testing.T, srv *scriptServer, lag *lagConn, opts *Options) *IMAP4 {
	t.Helper()
	leaks := newLeakBaseline()
	lag.Conn = srv.Dial(t)
	m, err := NewConn(lag, opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		if _, ok := shutdownBounded(t, m, 5*time.Second); !ok {
			t.Errorf("hang: Shutdown did not return within 5s")
			return
		}
		srv.Wait()
		leaks.check(t)
	})
	return m
}

// advTag returns the tag of a command line.
func advTag(p []byte) string {
	tag, _, _ := bytes.Cut(p, []byte(" "))
	return string(tag)
}

// TestAdversarialSlowWriter: every write of the client returns only after
// the server's answer to it has been read and handled: LOGIN (whose
// follow-up asks for the capabilities), SELECT, pipelined FETCHes, IDLE
// (whose "+" and the data that ends it arrive first), DONE, an APPEND with
// LITERAL+ and LOGOUT. Nothing may hang or be lost, and each write must
// have been released by the reader, not by the time limit.
func TestAdversarialSlowWriter(t *testing.T) {
	srv := newScriptServer(t, t.Name(), `
S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready
C: $1 LOGIN alice "secret"
S: $1 OK logged in
C: $2 CAPABILITY
S: * CAPABILITY IMAP4rev1 IDLE LITERAL+
S: $2 OK done
C: $3 SELECT INBOX
S: * 2 EXISTS
S: $3 OK [READ-WRITE] selected
C: $4 FETCH 1 (FLAGS)
S: * 1 FETCH (FLAGS (\Seen))
S: $4 OK fetched
C: $5 FETCH 2 (FLAGS)
S: * 2 FETCH (FLAGS (\Draft))
S: $5 OK fetched
C: $6 IDLE
S: + idling
S: * 3 EXISTS
C: DONE
S: $6 OK idle done
C: $7 APPEND INBOX {5+}
C~ hello\r\n
S: $7 OK [APPENDUID 1 9] appended
C: $8 LOGOUT
S: * BYE bye
S: $8 OK logged out
!eof
`)
	lagged := 0
	lag := newLag(func(p []byte) (string, bool) {
		lagged++ // only the writer writes
		switch s := string(p); {
		case strings.Contains(s, " IDLE\r\n"):
			return "* 3 EXISTS", true
		case s == "DONE\r\n":
			return "OK idle done", true
		case strings.Contains(s, " LOGOUT\r\n"):
			return advTag(p) + " OK", false // the reader ends with it
		}
		return advTag(p) + " OK", true
	})
	m := connectLag(t, srv, lag, nil)
	waitDoneOK(t, m.Login("alice", "secret"), "LOGIN")
	assert.Equal(t, []string{"IMAP4REV1", "IDLE", "LITERAL+"}, m.Capabilities())
	assert.Equal(t, []Datum{txt("2")}, waitDoneOK(t, m.Select("INBOX", false), "SELECT").Data)
	f1, f2 := m.Fetch("1", "(FLAGS)"), m.Fetch("2", "(FLAGS)")
	assert.Equal(t, []Datum{txt(`1 (FLAGS (\Seen))`)}, waitDoneOK(t, f1, "FETCH 1").Data)
	assert.Equal(t, []Datum{txt(`2 (FLAGS (\Draft))`)}, waitDoneOK(t, f2, "FETCH 2").Data)
	waitDoneOK(t, m.Idle(time.Minute), "IDLE ended by server data")
	assert.Equal(t, []Datum{txt("3")}, m.Response("EXISTS").Data)
	app := waitDoneOK(t, m.Append("INBOX", "", time.Time{}, []byte("hello")), "APPEND")
	_, uids, ok := app.AppendUID()
	assert.True(t, ok)
	assert.Equal(t, "9", uids.String())
	assert.Equal(t, "BYE", waitDoneOK(t, m.Logout(), "LOGOUT").Type)
	waitStopped(t, m)
	released, timeouts := lag.counts()
	assert.Zero(t, timeouts, "writes released by the time limit")
	assert.Equal(t, lagged, released, "writes released by the reader")
}

// TestAdversarialSlowWriterCOMPRESS: the COMPRESS write returns only after
// the reader has read the OK, which compressed data follows at once.
func TestAdversarialSlowWriterCOMPRESS(t *testing.T) {
	srv := newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE] ready
C: $1 COMPRESS DEFLATE
S: $1 OK deflating
!compress
S: * 5 EXISTS
C: $2 NOOP
S: $2 OK done
`)
	lag := newLag(func(p []byte) (string, bool) {
		if bytes.HasSuffix(p, []byte(" COMPRESS DEFLATE\r\n")) {
			return advTag(p) + " OK", false
		}
		return "", false
	})
	m := connectLag(t, srv, lag, nil)
	var err error
	advWithin(t, "EnableCompression", func() { err = m.EnableCompression() })
	require.NoError(t, err)
	waitDoneOK(t, m.Noop(), "NOOP compressed")
	assert.Equal(t, []Datum{txt("5")}, m.Response("EXISTS").Data)
	released, timeouts := lag.counts()
	assert.Equal(t, 1, released)
	assert.Zero(t, timeouts)
}

// TestAdversarialSlowWriterSTARTTLS: the STARTTLS write returns only after
// the reader has read the OK (and stopped for the switch); the switch and
// the capabilities asked after it must still happen.
func TestAdversarialSlowWriterSTARTTLS(t *testing.T) {
	srv := newScriptServer(t, t.Name(), `
S: * OK [CAPABILITY IMAP4rev1 STARTTLS] ready
C: $1 STARTTLS
S: $1 OK Begin TLS
!starttls
C: $2 CAPABILITY
S: * CAPABILITY IMAP4rev1 AUTH=PLAIN
S: $2 OK done
`)
	lag := newLag(func(p []byte) (string, bool) {
		if bytes.HasSuffix(p, []byte(" STARTTLS\r\n")) {
			return advTag(p) + " OK", false
		}
		return "", false
	})
	m := connectLag(t, srv, lag, nil)
	waitDoneOK(t, m.StartTLS(&tls.Config{RootCAs: srv.CertPool(), ServerName: "localhost"}), "STARTTLS")
	assert.Equal(t, []string{"IMAP4REV1", "AUTH=PLAIN"}, m.Capabilities())
	released, timeouts := lag.counts()
	assert.Equal(t, 1, released)
	assert.Zero(t, timeouts)
}

// TestAdversarialEOFBetweenSteps: the server closes the connection between
// two steps of a command: in the middle of a literal or a line it sends,
// right after the "+" that lets the client send a literal, start IDLE or
// answer a SASL challenge, and after a SELECT's OK with a FETCH pending.
// Every command, those pending and those issued later, must complete with
// ErrAbort; nothing hangs or leaks.
func TestAdversarialEOFBetweenSteps(t *testing.T) {
	const greeting = "S: * PREAUTH [CAPABILITY IMAP4rev1 IDLE AUTH=PLAIN] ready\n"
	const selected = greeting + `
C: $0 SELECT INBOX
S: * 2 EXISTS
S: $0 OK [READ-WRITE] done
`
	cases := []struct {
		name, script string
		run          func(m *IMAP4) []*Command
		says         string
	}{
		{"in a FETCH literal", selected + `
C: $1 FETCH 1 (BODY[])
S~ * 1 FETCH (BODY[] {100}\r\nonly part of it
!eof
`, func(m *IMAP4) []*Command { return []*Command{m.Fetch("1", "(BODY[])")} }, "middle of a response"},
		{"in a streamed FETCH literal", selected + `
C: $1 FETCH 1:2 (BODY[])
S~ * 1 FETCH (BODY[] {5}\r\nwhole)\r\n* 2 FETCH (BODY[] {100}\r\nonly part of it
!eof
`, func(m *IMAP4) []*Command {
			var got []string
			return []*Command{m.FetchFunc("1:2", "(BODY[])", func(msg []Datum) {
				got = append(got, string(msg[0].Literal))
				if len(got) > 1 || got[0] != "whole" {
					panic(fmt.Sprintf("FetchFunc handed over %q", got))
				}
			})}
		}, "middle of a response"},
		{"in a line", selected + `
C: $1 FETCH 1 (FLAGS)
S~ * 1 FETCH (FLAGS (\\Seen
!eof
`, func(m *IMAP4) []*Command { return []*Command{m.Fetch("1", "(FLAGS)")} }, "middle of a response"},
		{"after the line announcing a literal", selected + `
C: $1 FETCH 1 (BODY[])
S~ * 1 FETCH (BODY[] {100}\r\n
!eof
`, func(m *IMAP4) []*Command { return []*Command{m.Fetch("1", "(BODY[])")} }, "middle of a response"},
		{"after + for APPEND", greeting + `
C: $1 APPEND INBOX {5}
S: + go ahead
!eof
`, func(m *IMAP4) []*Command {
			return []*Command{m.Append("INBOX", "", time.Time{}, []byte("hello")), m.Noop()}
		}, "closed"},
		{"in a + for APPEND", greeting + `
C: $1 APPEND INBOX {5}
S~ + go ah
!eof
`, func(m *IMAP4) []*Command {
			return []*Command{m.Append("INBOX", "", time.Time{}, []byte("hello")), m.Noop()}
		}, "closed"},
		{"after + for IDLE", greeting + `
C: $1 IDLE
S: + idling
!eof
`, func(m *IMAP4) []*Command { return []*Command{m.Idle(time.Minute)} }, "closed"},
		{"after + for IDLE, a command waiting", greeting + `
C: $1 IDLE
S: + idling
C: DONE
!eof
`, func(m *IMAP4) []*Command {
			idle := m.Idle(time.Minute)
			return []*Command{idle, m.Noop()}
		}, "closed"},
		{"after + for AUTHENTICATE", `
S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready
C: $1 AUTHENTICATE PLAIN
S: +
!eof
`, func(m *IMAP4) []*Command {
			return []*Command{m.Authenticate("PLAIN", func([]byte) ([]byte, error) { return []byte("\x00a\x00b"), nil })}
		}, "closed"},
		{"after SELECT's OK", greeting + `
C: $0 SELECT INBOX
S: * 2 EXISTS
S: $0 OK [READ-WRITE] done
C: $1 FETCH 1:2 (FLAGS)
S: * 1 FETCH (FLAGS ())
!eof
`, func(m *IMAP4) []*Command { return []*Command{m.Fetch("1:2", "(FLAGS)")} }, "closed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newScriptServer(t, t.Name(), tc.script)
			m := connect(t, srv, nil)
			if strings.Contains(tc.script, "$0 SELECT") {
				waitDoneOK(t, m.Select("INBOX", false), "SELECT")
			}
			cmds := tc.run(m)
			for i, c := range cmds {
				err := waitAborts(t, c)
				if i == 0 {
					assert.Contains(t, err.Error(), tc.says)
				}
			}
			waitAborts(t, m.Noop())
			waitStopped(t, m)
		})
	}
}

// TestAdversarialPipelinedAppendsDrop: APPENDs with LITERAL+ go on the
// wire together; the connection then ends after the first is answered,
// with the last one's write still in progress, with a large literal being
// written, or before any answer. The answered APPEND keeps its result;
// every other completes with ErrAbort, and nothing hangs or leaks.
func TestAdversarialPipelinedAppendsDrop(t *testing.T) {
	const sent = `
S: * PREAUTH [CAPABILITY IMAP4rev1 LITERAL+ UIDPLUS] ready
C: $1 APPEND INBOX {6+}
C~ first!\r\n
C: $2 APPEND INBOX {7+}
C~ second!\r\n
C: $3 APPEND INBOX {6+}
C~ third!\r\n
`
	appendAll := func(m *IMAP4) []*Command {
		return []*Command{
			m.Append("INBOX", "", time.Time{}, []byte("first!")),
			m.Append("INBOX", "", time.Time{}, []byte("second!")),
			m.Append("INBOX", "", time.Time{}, []byte("third!")),
		}
	}
	t.Run("first answered", func(t *testing.T) {
		m := connect(t, newScriptServer(t, t.Name(), sent+`
S: $1 OK [APPENDUID 7 1] done
!eof
`), nil)
		cmds := appendAll(m)
		res := waitDoneOK(t, cmds[0], "first APPEND")
		_, uids, ok := res.AppendUID()
		assert.True(t, ok)
		assert.Equal(t, "1", uids.String())
		waitAborts(t, cmds[1])
		waitAborts(t, cmds[2])
		waitAborts(t, m.Noop())
	})
	t.Run("none answered", func(t *testing.T) {
		m := connect(t, newScriptServer(t, t.Name(), sent+"!eof\n"), nil)
		for _, c := range appendAll(m) {
			waitAborts(t, c)
		}
	})
	t.Run("answers and BYE", func(t *testing.T) {
		m := connect(t, newScriptServer(t, t.Name(), sent+`
S: $1 OK done
S: $2 NO [OVERQUOTA] full
S: * BYE shutting down
`), nil)
		cmds := appendAll(m)
		waitDoneOK(t, cmds[0], "first APPEND")
		res, err := waitDone(t, cmds[1], "second APPEND")
		require.NoError(t, err)
		assert.Equal(t, "NO", res.Type)
		err = waitAborts(t, cmds[2])
		assert.Contains(t, err.Error(), "BYE")
	})
	t.Run("write in progress", func(t *testing.T) {
		srv := newScriptServer(t, t.Name(), sent+`
S: $1 OK done
!eof
`)
		tap := newTap(nil)
		tap.failAfterClose = func(p []byte) bool { return bytes.Contains(p, []byte("third!")) }
		m := connectTap(t, srv, tap, nil)
		cmds := appendAll(m)
		waitDoneOK(t, cmds[0], "first APPEND")
		waitAborts(t, cmds[1])
		waitAborts(t, cmds[2])
	})
	t.Run("large literal being written", func(t *testing.T) {
		checkLeaks(t)
		big := bytes.Repeat([]byte("0123456789abcdef"), 1<<19) // 8 MiB
		port := serveOne(t, nil, func(conn net.Conn) {
			io.WriteString(conn, "* PREAUTH [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n")
			r := bufio.NewReader(conn)
			tag, _, err := advLine(r)
			if err != nil {
				return
			}
			if _, err := io.CopyN(io.Discard, r, 6+2); err != nil {
				return
			}
			io.WriteString(conn, tag+" OK done\r\n")
			advLine(r)     // the large APPEND's line
			r.Discard(100) // and a little of its literal
		})
		m, err := New("127.0.0.1", &Options{Port: port})
		require.NoError(t, err)
		defer m.Shutdown()
		a1 := m.Append("INBOX", "", time.Time{}, []byte("first!"))
		a2 := m.Append("INBOX", "", time.Time{}, big)
		a3 := m.Append("INBOX", "", time.Time{}, []byte("third!"))
		res, err := waitDone(t, a1, "first APPEND")
		if err == nil { // the server's reset may overtake its OK
			assert.Equal(t, "OK", res.Type)
		} else {
			assert.ErrorIs(t, err, ErrAbort)
		}
		waitAborts(t, a2)
		waitAborts(t, a3)
		waitStopped(t, m)
	})
	t.Run("LITERAL- large literal waits for +", func(t *testing.T) {
		large := strings.Repeat("x", 5000)
		m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1 LITERAL-] ready
C: $1 APPEND INBOX {6+}
C~ first!\r\n
C: $2 APPEND INBOX {7+}
C~ second!\r\n
S: $1 OK done
S: $2 OK done
C: $3 APPEND INBOX {5000}
S: + go ahead
!eof
`), nil)
		a1 := m.Append("INBOX", "", time.Time{}, []byte("first!"))
		a2 := m.Append("INBOX", "", time.Time{}, []byte("second!"))
		a3 := m.Append("INBOX", "", time.Time{}, []byte(large))
		a4 := m.Noop()
		waitDoneOK(t, a1, "first APPEND")
		waitDoneOK(t, a2, "second APPEND")
		waitAborts(t, a3)
		waitAborts(t, a4)
	})
}

// ---------------------------------------------------------------------------
// Timeouts: a server that stops at any step

// TestAdversarialTimeoutAtEveryStep: with Options.Timeout, a server that
// goes silent at any step (no "+" for a literal, half a literal, no reply
// to IDLE's DONE, no TLS handshake after STARTTLS's OK, no reply to the
// CAPABILITY after LOGIN, a client write that the server never reads)
// must make the command complete with ErrAbort soon after the timeout.
func TestAdversarialTimeoutAtEveryStep(t *testing.T) {
	const timeout = 300 * time.Millisecond
	const greeting = "S: * PREAUTH [CAPABILITY IMAP4rev1 IDLE] ready\n"
	cases := []struct {
		name, script string
		run          func(m *IMAP4) *Command
	}{
		{"no + for a literal", greeting + `
C: $1 APPEND INBOX {5}
!silent
`, func(m *IMAP4) *Command { return m.Append("INBOX", "", time.Time{}, []byte("hello")) }},
		{"half a literal", greeting + `
C: $0 SELECT INBOX
S: $0 OK done
C: $1 FETCH 1 (BODY[])
S~ * 1 FETCH (BODY[] {100}\r\nhalf
!silent
`, func(m *IMAP4) *Command {
			m.Select("INBOX", false)
			return m.Fetch("1", "(BODY[])")
		}},
		{"no reply to DONE", greeting + `
C: $1 IDLE
S: + idling
C: DONE
!silent
`, func(m *IMAP4) *Command { return m.Idle(10 * time.Millisecond) }},
		{"no CAPABILITY after LOGIN", `
S: * OK [CAPABILITY IMAP4rev1] ready
C: $1 LOGIN a "b"
S: $1 OK in
C: $2 CAPABILITY
!silent
`, func(m *IMAP4) *Command { return m.Login("a", "b") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newScriptServer(t, t.Name(), tc.script)
			m := connect(t, srv, &Options{Timeout: timeout})
			c := tc.run(m)
			if _, ok := within(c.Done(), timeout+defectHang); !ok {
				t.Fatalf("hang: %s did not complete within %v of a %v timeout", c.name, defectHang, timeout)
			}
			_, err := c.Wait()
			require.ErrorIs(t, err, ErrAbort)
			waitStopped(t, m)
		})
	}
	t.Run("no handshake after STARTTLS", func(t *testing.T) {
		checkLeaks(t)
		port := serveOne(t, nil, func(conn net.Conn) {
			io.WriteString(conn, "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n")
			r := bufio.NewReader(conn)
			if tag, _, err := advLine(r); err == nil {
				io.WriteString(conn, tag+" OK go\r\n")
				advDrain(r) // the ClientHello, never answered
			}
		})
		m, err := New("127.0.0.1", &Options{Port: port, Timeout: timeout})
		require.NoError(t, err)
		defer m.Shutdown()
		c := m.StartTLS(&tls.Config{ServerName: "localhost"})
		if _, ok := within(c.Done(), timeout+defectHang); !ok {
			t.Fatalf("hang: STARTTLS did not complete within %v of a %v timeout", defectHang, timeout)
		}
		_, err = c.Wait()
		require.ErrorIs(t, err, ErrAbort)
		waitStopped(t, m)
	})
	t.Run("write the server never reads", func(t *testing.T) {
		checkLeaks(t)
		stop := make(chan struct{})
		port := serveOne(t, nil, func(conn net.Conn) {
			io.WriteString(conn, "* PREAUTH [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n")
			select {
			case <-stop:
			case <-time.After(waitLimit):
			}
		})
		defer close(stop)
		m, err := New("127.0.0.1", &Options{Port: port, Timeout: timeout})
		require.NoError(t, err)
		defer m.Shutdown()
		c := m.Append("INBOX", "", time.Time{}, bytes.Repeat([]byte("x"), 64<<20))
		if _, ok := within(c.Done(), timeout+5*time.Second); !ok {
			t.Fatalf("hang: APPEND blocked in its write did not complete after the timeout")
		}
		_, err = c.Wait()
		require.ErrorIs(t, err, ErrAbort)
		waitStopped(t, m)
	})
}

// ---------------------------------------------------------------------------
// Code of the user's that runs on the connection's goroutines

// TestAdversarialShutdownFromHandlers: Shutdown called from a FetchFunc
// handler (which runs on the reader), from an Authenticator (which runs on
// the writer), and from an OnDone callback and an Unsolicited handler
// (which run on the callback goroutine) must return, and end the
// connection.
func TestAdversarialShutdownFromHandlers(t *testing.T) {
	t.Run("OnDone", func(t *testing.T) {
		m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1] ready
C: $1 NOOP
S: $1 OK done
`), nil)
		returned := make(chan struct{})
		m.Noop().OnDone(func(Result, error) {
			m.Shutdown()
			close(returned)
		})
		receive(t, returned, "Shutdown in OnDone to return")
		waitStopped(t, m)
	})
	t.Run("Unsolicited", func(t *testing.T) {
		returned := make(chan struct{})
		var m *IMAP4
		ready := make(chan struct{})
		var once sync.Once
		m = connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1] ready
C: $1 NOOP
S: * 4 EXISTS
S: $1 OK done
`), &Options{Unsolicited: func(Untagged) {
			<-ready
			once.Do(func() {
				m.Shutdown()
				close(returned)
			})
		}})
		close(ready)
		m.Noop()
		receive(t, returned, "Shutdown in Unsolicited to return")
		waitStopped(t, m)
	})
	t.Run("FetchFunc", func(t *testing.T) {
		m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1] ready
C: $1 SELECT INBOX
S: $1 OK done
C: $2 FETCH 1:2 (FLAGS)
S: * 1 FETCH (FLAGS ())
!expect-eof
`), nil)
		waitDoneOK(t, m.Select("INBOX", false), "SELECT")
		returned := make(chan struct{})
		var once sync.Once
		f := m.FetchFunc("1:2", "(FLAGS)", func([]Datum) {
			once.Do(func() {
				m.Shutdown()
				close(returned)
			})
		})
		if _, ok := within(returned, defectHang); !ok {
			t.Fatalf("hang: Shutdown called in a FetchFunc handler did not return within %v", defectHang)
		}
		waitAborts(t, f)
	})
	t.Run("Authenticator", func(t *testing.T) {
		m := connect(t, newScriptServer(t, t.Name(), `
S: * OK [CAPABILITY IMAP4rev1 AUTH=X] ready
C: $1 AUTHENTICATE X
S: + Y2hhbGxlbmdl
!expect-eof
`), nil)
		returned := make(chan struct{})
		auth := m.Authenticate("X", func([]byte) ([]byte, error) {
			m.Shutdown()
			close(returned)
			return nil, fmt.Errorf("gave up")
		})
		if _, ok := within(returned, defectHang); !ok {
			t.Fatalf("hang: Shutdown called in an Authenticator did not return within %v", defectHang)
		}
		waitAborts(t, auth)
	})
}

// TestAdversarialLogoutAnswers: LOGOUT's result for each way a server can
// answer it: BYE and OK (Type "BYE"), OK alone, NO, BAD (an error, as BAD
// always is), and nothing at all (ErrAbort).
func TestAdversarialLogoutAnswers(t *testing.T) {
	cases := []struct {
		name, answer string
		typ          string // "" for an error
		abort        bool
	}{
		{"BYE and OK", "S: * BYE see you\nS: $1 OK done\n", "BYE", false},
		{"OK", "S: $1 OK done\n", "OK", false},
		{"NO", "S: $1 NO not now\n", "NO", false},
		{"BAD", "S: $1 BAD what\n", "", false},
		{"EOF", "!eof\n", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := connect(t, newScriptServer(t, t.Name(), `
S: * PREAUTH [CAPABILITY IMAP4rev1] ready
C: $1 LOGOUT
`+tc.answer), nil)
			res, err := waitDone(t, m.Logout(), "LOGOUT")
			switch {
			case tc.typ != "":
				require.NoError(t, err)
				assert.Equal(t, tc.typ, res.Type)
			case tc.abort:
				assert.ErrorIs(t, err, ErrAbort)
			default:
				assert.Error(t, err, "a BAD is an error, not a Result of Type %q", res.Type)
				assert.ErrorIs(t, err, ErrError)
			}
			waitStopped(t, m)
			waitAborts(t, m.Noop())
		})
	}
}

// TestAdversarialStatusRouting: pipelined STATUS commands for mailboxes
// whose names need quoting, escaping or modified UTF-7, and INBOX in
// another case, answered in reverse order, the server naming each mailbox
// in another valid form (quoted where the client sent an atom, a literal).
// Each command gets its own data.
func TestAdversarialStatusRouting(t *testing.T) {
	checkLeaks(t)
	names := []string{"a b", "Entwürfe", "R&D", "INBOX", "lit", `say "hi"`, "plain"}
	answers := map[string]string{ // how the server names each, as the client sent it
		`"a b"`:        `"a b"`,
		"Entw&APw-rfe": `"Entw&APw-rfe"`,
		"R&-D":         "R&-D",
		"INBOX":        "inbox",
		"lit":          "{3}\r\nlit",
		`"say \"hi\""`: `{8}` + "\r\n" + `say "hi"`,
		"plain":        `"plain"`,
	}
	port := rawServer(t, func(conn net.Conn, r *bufio.Reader) {
		type cmd struct{ tag, box string }
		var cmds []cmd
		for range names {
			tag, rest, err := advLine(r)
			if err != nil {
				return
			}
			box := strings.TrimSuffix(strings.TrimPrefix(rest, "STATUS "), " (MESSAGES)")
			cmds = append(cmds, cmd{tag, box})
		}
		var reply strings.Builder
		for i := len(cmds) - 1; i >= 0; i-- {
			name, ok := answers[cmds[i].box]
			if !ok {
				name = "unknown-" + cmds[i].box
			}
			fmt.Fprintf(&reply, "* STATUS %s (MESSAGES %d)\r\n", name, i+1)
		}
		for i := len(cmds) - 1; i >= 0; i-- {
			reply.WriteString(cmds[i].tag + " OK done\r\n")
		}
		io.WriteString(conn, reply.String())
		advDrain(r)
	})
	m, err := New("127.0.0.1", &Options{Port: port})
	require.NoError(t, err)
	defer m.Shutdown()
	var cmds []*Command
	for _, name := range names {
		cmds = append(cmds, m.Status(name, "(MESSAGES)"))
	}
	for i, c := range cmds {
		res := waitDoneOK(t, c, "STATUS "+names[i])
		st, err := res.MailboxStatus()
		if assert.NoError(t, err, names[i]) {
			assert.Equal(t, uint32(i+1), st.Messages, "STATUS %s got the data of another mailbox: %v", names[i], res.Data)
		}
	}
	assert.Empty(t, m.PopUntaggedResponses(), "no STATUS left unrouted")
}

// TestAdversarialStreamFailures: NewStream at Debug 0 with commands that
// fail before or during the session: garbage for a greeting, no greeting
// at all, a flood of standard error, a command that does not exist, a
// process that dies mid-session. Each must give an error or an abort, never
// a panic, a hang or a goroutine left behind.
func TestAdversarialStreamFailures(t *testing.T) {
	for name, command := range map[string]string{
		"garbage greeting": `echo 'this is no IMAP server'; echo oops >&2; cat >/dev/null`,
		"no greeting":      `echo 'nothing here' >&2; exit 3`,
		"missing command":  `/nonexistent/imap-server-binary`,
		"BYE greeting":     `printf '* BYE go away\r\n'; printf 'bye' >&2`,
	} {
		t.Run(name, func(t *testing.T) {
			checkLeaks(t)
			var m *IMAP4
			var err error
			advWithin(t, "NewStream", func() { m, err = NewStream(command, nil) })
			require.Error(t, err)
			assert.Nil(t, m)
			assert.ErrorIs(t, err, ErrError)
		})
	}
	t.Run("stderr flood", func(t *testing.T) {
		checkLeaks(t)
		m, err := NewStream(`head -c 2000000 /dev/zero | tr '\0' 'e' >&2; printf '* PREAUTH [CAPABILITY IMAP4rev1] ok\r\n'; read -r tag rest; head -c 2000000 /dev/zero | tr '\0' 'f' >&2; printf '%s OK done\r\n' "$tag"; cat >/dev/null`, nil)
		require.NoError(t, err)
		waitDoneOK(t, m.Noop(), "NOOP")
		advWithin(t, "Shutdown", func() { m.Shutdown() })
	})
	t.Run("dies mid-session", func(t *testing.T) {
		checkLeaks(t)
		m, err := NewStream(`printf '* PREAUTH [CAPABILITY IMAP4rev1] ok\r\n'; read -r tag rest; printf '* 1 FETCH (BODY[] {50}\r\nhalf'; kill -9 $$`, nil)
		require.NoError(t, err)
		err = waitAborts(t, m.Noop())
		assert.Contains(t, err.Error(), "middle of a response")
		waitStopped(t, m)
		waitAborts(t, m.Logout())
	})
}
