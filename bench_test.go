package imaplib2

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// The timed loops check results with plain ifs: testify's calls (b.Helper,
// values boxed in interfaces) would be measured with them.

// fetchStream builds the server side of a FETCH 1:n (BODY[]) response:
// n messages with bodies of about size bytes, then the tagged OK.
func fetchStream(n, size int) []byte {
	var b bytes.Buffer
	body := strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n", size/58+1)[:size]
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "* %d FETCH (UID %d FLAGS (\\Seen) BODY[] {%d}\r\n%s)\r\n", i, i+1000, len(body), body)
	}
	b.WriteString("A1 OK Fetch completed.\r\n")
	return b.Bytes()
}

// BenchmarkReadFetch measures the response reader alone on an in-memory
// stream of 1,000 FETCH responses with 4 KB literals.
func BenchmarkReadFetch(b *testing.B) {
	for _, size := range []int{2 << 10, 4 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("literal=%dKB", size>>10), func(b *testing.B) {
			const n = 1000
			stream := fetchStream(n, size)
			b.SetBytes(int64(len(stream)))
			b.ReportAllocs()
			src := bytes.NewReader(stream)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				src.Reset(stream)
				rr := newResponseReader(src, DefaultMaxLineSize, DefaultMaxLiteralSize)
				for {
					r, err := rr.read()
					if err != nil {
						b.Fatal(err)
					}
					if r.kind == taggedResponse {
						break
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/msg")
		})
	}
}

// BenchmarkQuote measures argument encoding.
func BenchmarkQuote(b *testing.B) {
	q := quoter{}
	args := []string{"INBOX", "Sent Items", `a"b\c`, "1:*", "'1:*'", "(\\Seen)", "user@example.com"}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		for _, a := range args {
			if _, err := q.astring(a); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkFetchEndToEnd measures a whole FETCH 1:1000 round trip through
// the connection's goroutines and routing, against an in-process server
// over loopback TCP.
func BenchmarkFetchEndToEnd(b *testing.B) {
	stream := fetchStream(1000, 4<<10)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	port := rawServer(b, func(server net.Conn, r *bufio.Reader) {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			tag, _, _ := strings.Cut(line, " ")
			if strings.Contains(line, "SELECT") {
				fmt.Fprintf(server, "* 1000 EXISTS\r\n%s OK [READ-WRITE] done\r\n", tag)
				continue
			}
			server.Write(bytes.Replace(stream, []byte("A1 OK"), []byte(tag+" OK"), 1))
		}
	})
	m, err := New("127.0.0.1", &Options{Port: port})
	require.NoError(b, err)
	defer m.Shutdown()
	_, err = waitResult(b, m.Select("INBOX", true))
	require.NoError(b, err)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := waitResult(b, m.Fetch("1:1000", "(UID FLAGS BODY[])"))
		if err != nil || len(res.Data) != 2000 {
			b.Fatal(err, len(res.Data))
		}
	}
}

// BenchmarkPipelinedUIDFetch is the lab's W2 without the lab: 2,000
// UID FETCH <uid> (BODY.PEEK[]) issued at once and collected with OnDone,
// against an in-process server that answers each with a 2 KB body. It
// measures the per-command cost of the model: the hops from caller to
// writer to reader to callback, and the allocations of each command.
func BenchmarkPipelinedUIDFetch(b *testing.B) {
	const commands = 2000
	body := bytes.Repeat([]byte("x"), 2048) // {2048} below
	port := rawServer(b, func(server net.Conn, r *bufio.Reader) {
		w := bufio.NewWriter(server)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			f := strings.Fields(line)
			if len(f) > 3 && f[1] == "UID" && f[2] == "FETCH" {
				uid := f[3]
				w.WriteString("* " + uid + " FETCH (UID " + uid + " BODY[] {2048}\r\n")
				w.Write(body)
				w.WriteString(")\r\n")
			}
			w.WriteString(f[0] + " OK done\r\n")
			if r.Buffered() == 0 {
				w.Flush()
			}
		}
	})
	m, err := New("127.0.0.1", &Options{Port: port})
	require.NoError(b, err)
	defer m.Shutdown()
	_, err = waitResult(b, m.Select("INBOX", true))
	require.NoError(b, err)
	uids := make([]string, commands)
	for i := range uids {
		uids[i] = strconv.Itoa(i + 1)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var wg sync.WaitGroup
		var bad atomic.Int32
		wg.Add(commands)
		for _, uid := range uids {
			m.UID("FETCH", uid, "(BODY.PEEK[])").OnDone(func(res Result, err error) {
				if err != nil || len(res.Data) != 2 || len(res.Data[0].Literal) != len(body) {
					bad.Add(1)
				}
				wg.Done()
			})
		}
		wg.Wait()
		if bad.Load() != 0 {
			b.Fatalf("%d of %d results wrong", bad.Load(), commands)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*commands), "ns/command")
}

// BenchmarkCallbackHop measures one hop of the model alone: a completed
// command's OnDone callback handed from the reader to the callback
// goroutine and run there. The caller queues callbacks in bursts of 16,
// as the reader does when one read holds several responses.
func BenchmarkCallbackHop(b *testing.B) {
	runner := newCallbackRunner(newDebugLog(Options{}, "bench"))
	defer runner.stop()
	c := &Command{}
	var done sync.WaitGroup
	fn := func(Result, error) { done.Done() }
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += 16 {
		n := min(16, b.N-i)
		done.Add(n)
		for range n {
			runner.run(callback{fn: fn, c: c})
		}
		done.Wait()
	}
}

// headerFetch is one message of what a mail client's message list
// fetches: FETCH (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)
// as Dovecot sends it, for a multipart/alternative message.
const headerFetch = `%d (UID %d FLAGS (\Seen $Label1) INTERNALDATE "17-Jul-2024 02:44:25 +0200" RFC822.SIZE 4286 ` +
	`ENVELOPE ("Wed, 17 Jul 2024 02:23:25 +0200" "=?UTF-8?B?R3LDvMOfZSBhdXMgQmVybGlu?=" ` +
	`(("=?ISO-8859-1?Q?Andr=E9?= Pirard" NIL "pirard" "vm1.ulg.ac.be")) (("Andre Pirard" NIL "pirard" "vm1.ulg.ac.be")) ` +
	`(("Andre Pirard" NIL "pirard" "vm1.ulg.ac.be")) (("Terry Gray" NIL "gray" "cac.washington.edu")("Team" NIL "team" "example.org")) ` +
	`NIL NIL "<B27397-0100000@cac.washington.edu>" "<4711@vm1.ulg.ac.be>") ` +
	`BODYSTRUCTURE (("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 1250 32 NIL NIL NIL NIL)` +
	`("text" "html" ("charset" "utf-8") NIL NIL "7bit" 2400 60 NIL NIL NIL NIL) "alternative" ("boundary" "b1") NIL NIL NIL))`

// BenchmarkMessages parses 10,000 FETCH responses with ENVELOPE and
// BODYSTRUCTURE into Messages: the typed layer's cost per message (the
// lab's W6 without the server).
func BenchmarkMessages(b *testing.B) {
	const n = 10000
	data := make([]Datum, n)
	for i := range data {
		data[i] = Datum{Text: fmt.Sprintf(headerFetch, i+1, i+1)}
	}
	res := Result{Type: "OK", Data: data}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		msgs, err := res.Messages()
		if err != nil || len(msgs) != n || msgs[n-1].BodyStructure == nil {
			b.Fatal(err, len(msgs))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/message")
}

// BenchmarkNormalizeCRLF is APPEND's copy of a 2 KB message with CRLF line
// endings (the lab's W5 appends 2,000 of them).
func BenchmarkNormalizeCRLF(b *testing.B) {
	msg := []byte(strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n", 36))
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if out := normalizeCRLF(msg); len(out) != len(msg) {
			b.Fatal(len(out))
		}
	}
}
