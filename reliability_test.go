package imaplib2

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUnsolicitedFlood: 200,000 unsolicited responses that nobody reads keep
// memory bounded by MaxStoredResponses; the newest are kept.
func TestUnsolicitedFlood(t *testing.T) {
	const flood, limit = 200000, 1000
	port := rawServer(t, func(conn net.Conn, r *bufio.Reader) {
		tag := readTag(r)
		w := bufio.NewWriter(conn)
		for i := 1; i <= flood; i++ {
			fmt.Fprintf(w, "* %d EXISTS\r\n", i)
		}
		fmt.Fprintf(w, "%s OK done\r\n", tag)
		w.Flush()
		r.ReadString('\n') // until the client goes
	})
	m, err := New("127.0.0.1", &Options{Port: port, MaxStoredResponses: limit})
	require.NoError(t, err)
	defer m.Shutdown()
	wait(t, m.Noop())
	data := m.Response("EXISTS").Data
	require.Len(t, data, limit)
	assert.Equal(t, fmt.Sprint(flood), data[limit-1].Text, "the newest is kept")
	assert.Equal(t, fmt.Sprint(flood-limit+1), data[0].Text)
}

// TestSolicitedDataNeverDropped: a command's own data is kept whatever the
// limit.
func TestSolicitedDataNeverDropped(t *testing.T) {
	const n = 5000
	var script strings.Builder
	fmt.Fprintf(&script, "S: * PREAUTH [CAPABILITY IMAP4rev1] hi\nC: $1 SELECT INBOX\nS: * %d EXISTS\nS: $1 OK done\nC: $2 FETCH 1:* (UID)\n", n)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&script, "S: * %d FETCH (UID %d)\n", i, i)
	}
	script.WriteString("S: $2 OK done\n")
	m := connect(t, newScriptServer(t, "5000 solicited", script.String()), &Options{MaxStoredResponses: 10})
	wait(t, m.Select("INBOX", false))
	assert.Len(t, wait(t, m.Fetch("1:*", "(UID)")).Data, n)
}

// TestConnectionReset: a reset connection aborts every pending command.
func TestConnectionReset(t *testing.T) {
	port := rawServer(t, func(conn net.Conn, r *bufio.Reader) {
		readTag(r)
		readTag(r)
		conn.(*net.TCPConn).SetLinger(0) // close with RST
	})
	leaks := newLeakBaseline()
	m, err := New("127.0.0.1", &Options{Port: port})
	require.NoError(t, err)
	a, b := m.Noop(), m.Noop()
	for _, c := range []*Command{a, b} {
		waitAborts(t, c)
	}
	m.Shutdown()
	leaks.check(t)
}

func TestSilentDuringLiteral(t *testing.T) {
	m := connect(t, newScriptServer(t, "silent in literal", `
S: * PREAUTH [CAPABILITY IMAP4rev1] hi
C: $1 NOOP
S: * 1 FETCH (BODY[] {100}
S~ only part
!silent
`), &Options{Timeout: 50 * time.Millisecond})
	err := waitAborts(t, m.Noop())
	assert.Contains(t, err.Error(), "no response after")
}

// TestSilentAfterIdle: the inactivity timeout does not apply while the
// server idles, but does once DONE has been sent.
func TestSilentAfterIdle(t *testing.T) {
	m := connect(t, newScriptServer(t, "silent after DONE", `
S: * PREAUTH [CAPABILITY IMAP4rev1 IDLE] hi
C: $1 IDLE
S: + idling
C: DONE
!silent
`), &Options{Timeout: 50 * time.Millisecond})
	err := waitAborts(t, m.Idle(100*time.Millisecond))
	assert.Contains(t, err.Error(), "no response after 50ms")
}

// TestBlockedCallback: a callback that blocks delays only the callbacks
// after it; commands still complete for Wait.
func TestBlockedCallback(t *testing.T) {
	m := connect(t, newScriptServer(t, "blocked callback", `
S: * PREAUTH [CAPABILITY IMAP4rev1] hi
C: $1 NOOP
S: $1 OK one
C: $2 NOOP
S: $2 OK two
C: $3 NOOP
S: $3 OK three
`), nil)
	release := make(chan struct{})
	second := make(chan struct{})
	m.Noop().OnDone(func(Result, error) { <-release })
	m.Noop().OnDone(func(Result, error) { close(second) })
	assert.Equal(t, "three", wait(t, m.Noop()).Data[0].Text)
	require.False(t, isDone(second), "a callback ran before the blocked one returned")
	close(release)
	receive(t, second, "the callback after the blocked one")
}

// TestConcurrentShutdownAndLogout: Logout and Shutdown called twice each,
// concurrently with commands from many goroutines: every command completes,
// nothing panics, no goroutine is left.
func TestConcurrentShutdownAndLogout(t *testing.T) {
	port := rawServer(t, func(conn net.Conn, r *bufio.Reader) {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			tag, cmd, _ := strings.Cut(strings.TrimSpace(line), " ")
			if cmd == "LOGOUT" {
				fmt.Fprintf(conn, "* BYE bye\r\n%s OK done\r\n", tag)
				return
			}
			fmt.Fprintf(conn, "%s OK done\r\n", tag)
		}
	})
	leaks := newLeakBaseline()
	m, err := New("127.0.0.1", &Options{Port: port})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if _, err := waitResult(t, m.Noop()); err != nil {
					assert.ErrorIs(t, err, ErrAbort)
				}
			}
		}()
	}
	for i := 0; i < 2; i++ {
		wg.Add(2)
		go func() { defer wg.Done(); waitResult(t, m.Logout()) }()
		go func() { defer wg.Done(); m.Shutdown() }()
	}
	wg.Wait()
	assert.Equal(t, LOGOUT, m.State())
	leaks.check(t)
}

// TestLargeLiteral: literals above the first chunk grow as their bytes
// arrive and come out whole; a huge announcement followed by EOF costs no
// more than the first chunk.
func TestLargeLiteral(t *testing.T) {
	for _, n := range []int{literalChunk - 1, literalChunk, literalChunk + 1, 3*literalChunk + 12345} {
		want := bytes.Repeat([]byte("0123456789abcdef"), n/16+1)[:n]
		got, err := readLiteral(bytes.NewReader(want), int64(n))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(want, got), "literal of %d bytes", n)
	}
	var stats runtime.MemStats
	runtime.ReadMemStats(&stats)
	before := stats.TotalAlloc
	_, err := readLiteral(strings.NewReader("tiny"), 1<<40)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	runtime.ReadMemStats(&stats)
	assert.Less(t, stats.TotalAlloc-before, uint64(2*literalChunk))
}

// TestEOFMidLine: the connection ends in the middle of a response line.
func TestEOFMidLine(t *testing.T) {
	m := connect(t, newScriptServer(t, "eof mid-line", `
S: * PREAUTH [CAPABILITY IMAP4rev1] hi
C: $1 NOOP
S~ * 1 EXI
!eof
`), nil)
	err := waitAborts(t, m.Noop())
	assert.Contains(t, err.Error(), "in the middle of a response")
}
