package imaplib2

// The library against an independently written server: go-imap's in-memory
// IMAP server (imapserver + imapmemserver), run in-process, so that
// `go test ./...` exercises a real server implementation without Dovecot.
//
// Things this server does that real servers may not, and that the
// expectations below reflect: every FETCH response carries UID; flags come
// back lower-cased (`\deleted`, `$label1`); HEADER.FIELDS names are echoed
// quoted; EXPUNGE reports the highest number first; LSUB adds \Subscribed;
// an 8-bit mailbox name is accepted without UTF8=ACCEPT and listed in
// modified UTF-7; an IDLE session hears only of changes made after its
// IDLE loop registered (hence internal/memserver's Idling signal). Its UID
// MOVE reports each moved message twice, with wrong numbers the first time
// (v2.0.0-beta.8), so MOVE is not tested here.

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imaplib2go/imaplib2/internal/memserver"
)

// memServer is a running in-memory server with one user.
type memServer struct {
	srv        *memserver.Server
	host       string
	port       int
	user, pass string
	idling     <-chan struct{} // receives when a session enters IDLE
}

// startMemServer starts an in-memory IMAP server on 127.0.0.1 with one
// user and an empty INBOX; it is closed when the test ends.
func startMemServer(t *testing.T) (host string, port int, user, pass string) {
	s := memStart(t)
	return s.host, s.port, s.user, s.pass
}

func memStart(t *testing.T) *memServer {
	t.Helper()
	s := &memServer{user: "alice", pass: "pa ss\"word"}
	srv, err := memserver.Start(memserver.Options{
		User:      s.user,
		Password:  s.pass,
		ExtraCaps: []string{"MOVE"},
		// The server's complaints go to the test log while the test runs.
		Logf: func(format string, args ...any) { t.Logf("memserver: "+format, args...) },
	})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	s.srv, s.idling = srv, srv.Idling()
	s.host, s.port = srv.Host(), srv.Port()
	return s
}

// memMessage is the generated message number i.
func memMessage(i int) []byte {
	return fmt.Appendf(nil, "From: Bob <bob@example.org>\r\nTo: alice@example.org\r\n"+
		"Subject: message %d\r\nMessage-ID: <%d@example.org>\r\n\r\nBody of message %d.\r\n%s",
		i, i, i, strings.Repeat("Some more text.\r\n", i%5))
}

// memSeed puts messages 1..n into INBOX through the server's own API.
func (s *memServer) memSeed(t *testing.T, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		require.NoError(t, s.srv.Append("INBOX", memMessage(i)))
	}
}

// memDial connects without logging in; the connection is shut down when
// the test ends.
func (s *memServer) memDial(t *testing.T) *IMAP4 {
	t.Helper()
	m, err := New(s.host, &Options{Port: s.port, Timeout: 20 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { m.Shutdown() })
	return m
}

// memLogin connects and logs in.
func (s *memServer) memLogin(t *testing.T) *IMAP4 {
	t.Helper()
	m := s.memDial(t)
	wait(t, m.Login(s.user, s.pass))
	return m
}

// memSelect connects, logs in and selects INBOX, requiring want messages.
func (s *memServer) memSelect(t *testing.T, want int) *IMAP4 {
	t.Helper()
	m := s.memLogin(t)
	res := wait(t, m.Select("INBOX", false))
	require.Equal(t, []Datum{txt(strconv.Itoa(want))}, res.Data)
	return m
}

// memNums is "1 2 ... n".
func memNums(from, to int) string {
	var s []string
	for i := from; i <= to; i++ {
		s = append(s, strconv.Itoa(i))
	}
	return strings.Join(s, " ")
}

func TestMemServerStartHelper(t *testing.T) {
	host, port, user, pass := startMemServer(t)
	m, err := New(host, &Options{Port: port, Timeout: 20 * time.Second})
	require.NoError(t, err)
	defer m.Shutdown()
	wait(t, m.Login(user, pass))
	assert.Equal(t, AUTH, m.State())
}

func TestMemServerRoundTrip(t *testing.T) {
	s := memStart(t)
	s.memSeed(t, 10)
	m := s.memDial(t)
	assert.Equal(t, NONAUTH, m.State())
	assert.Equal(t, "IMAP4REV1", m.ProtocolVersion())
	assert.True(t, strings.HasPrefix(m.Welcome(), "* OK [CAPABILITY IMAP4rev1"), m.Welcome())
	assert.Contains(t, m.Capabilities(), "AUTH=PLAIN")

	err := waitFails(t, m.Login(s.user, "wrong"))
	assert.Contains(t, err.Error(), "Authentication failed")
	assert.Equal(t, NONAUTH, m.State())

	res := wait(t, m.Login(s.user, s.pass))
	assert.Equal(t, "OK", res.Type)
	assert.Equal(t, AUTH, m.State())
	assert.Contains(t, m.Capabilities(), "IDLE", "capabilities learned from LOGIN's response code")

	res = wait(t, m.Select("INBOX", false))
	assert.Equal(t, []Datum{txt("10")}, res.Data)
	assert.Equal(t, SELECTED, m.State())
	assert.Equal(t, "1", m.Response("UIDVALIDITY").Data[0].Text)
	assert.Equal(t, "11", m.Response("UIDNEXT").Data[0].Text)

	res = wait(t, m.Search("", "ALL"))
	assert.Equal(t, []Datum{txt(memNums(1, 10))}, res.Data)
	res = wait(t, m.Search("", "SUBJECT", "message 7"))
	assert.Equal(t, []Datum{txt("7")}, res.Data)
	res = wait(t, m.Search("", "NOT", "SUBJECT", "message"))
	assert.Equal(t, []Datum{txt("")}, res.Data, "SEARCH with no hits")

	res = wait(t, m.Fetch("3", "(BODY.PEEK[])"))
	require.Len(t, res.Data, 2)
	assert.Equal(t, fmt.Sprintf("3 (UID 3 BODY[] {%d}", len(memMessage(3))), res.Data[0].Text)
	assert.Equal(t, memMessage(3), res.Data[0].Literal)
	assert.Equal(t, txt(")"), res.Data[1])

	res = wait(t, m.Fetch("2:4", "(RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
	require.Len(t, res.Data, 6)
	for i, n := range []int{2, 3, 4} {
		d := res.Data[2*i]
		// This server quotes the header field names it echoes.
		assert.Equal(t, fmt.Sprintf(`%d (UID %d RFC822.SIZE %d BODY[HEADER.FIELDS ("SUBJECT")] {22}`, n, n, len(memMessage(n))), d.Text)
		assert.Equal(t, fmt.Sprintf("Subject: message %d\r\n\r\n", n), string(d.Literal))
	}

	res = wait(t, m.Store("1,5", "+FLAGS", `\Deleted`))
	assert.Equal(t, []Datum{txt(`1 (UID 1 FLAGS (\deleted))`), txt(`5 (UID 5 FLAGS (\deleted))`)}, res.Data)
	assert.Equal(t, []string{`\deleted`}, ParseFlags([]byte(res.Data[0].Text)))

	res = wait(t, m.Expunge())
	assert.Equal(t, []Datum{txt("5"), txt("1")}, res.Data, "this server expunges from the highest number down")
	res = wait(t, m.Search("", "ALL"))
	assert.Equal(t, []Datum{txt(memNums(1, 8))}, res.Data)
	res = wait(t, m.Fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
	assert.Equal(t, "Subject: message 2\r\n\r\n", string(res.Data[0].Literal))

	wait(t, m.Close())
	assert.Equal(t, AUTH, m.State())
	res = wait(t, m.Logout())
	assert.Equal(t, "BYE", res.Type)
	assert.Equal(t, LOGOUT, m.State())
}

func TestMemServerPipelinedFetches(t *testing.T) {
	const n = 200
	s := memStart(t)
	s.memSeed(t, n)
	m := s.memSelect(t, n)

	type got struct {
		n   int
		res Result
		err error
	}
	results := make(chan got, n)
	cmds := make([]*Command, n)
	for i := 1; i <= n; i++ {
		cmds[i-1] = m.Fetch(strconv.Itoa(i), "(BODY.PEEK[])").OnDone(func(r Result, err error) {
			results <- got{i, r, err}
		})
	}
	tags := map[string]bool{}
	seen := map[int]bool{}
	for range n {
		g := receive(t, results, fmt.Sprintf("callback %d of %d", len(seen)+1, n))
		require.NoError(t, g.err)
		assert.False(t, seen[g.n], "callback of FETCH %d ran twice", g.n)
		seen[g.n] = true
		require.Len(t, g.res.Data, 2, "FETCH %d", g.n)
		assert.True(t, strings.HasPrefix(g.res.Data[0].Text, strconv.Itoa(g.n)+" (UID "), g.res.Data[0].Text)
		assert.Equal(t, string(memMessage(g.n)), string(g.res.Data[0].Literal), "FETCH %d got another message", g.n)
		tag := cmds[g.n-1].Tag()
		assert.NotEmpty(t, tag)
		assert.False(t, tags[tag], "tag %s used twice", tag)
		tags[tag] = true
	}
	assert.Len(t, seen, n)
	for _, u := range m.PopUntaggedResponses() {
		assert.NotEqual(t, "FETCH", u.Type, "every FETCH response went to its command")
	}

	// The same through Done channels, from many goroutines at once.
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g + 1; i <= n; i += 8 {
				c := m.Fetch(strconv.Itoa(i), "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
				receive(t, c.Done(), "FETCH "+strconv.Itoa(i))
				res, err := waitResult(t, c)
				if assert.NoError(t, err) && assert.NotEmpty(t, res.Data) {
					assert.Equal(t, fmt.Sprintf("Subject: message %d\r\n\r\n", i), string(res.Data[0].Literal))
				}
			}
		}()
	}
	wg.Wait()
}

func TestMemServerAppendFetch(t *testing.T) {
	s := memStart(t)
	m := s.memLogin(t)
	date := time.Date(2024, 2, 29, 13, 14, 15, 0, time.FixedZone("", -(7*3600+30*60)))
	msg := "From: a@example.org\nSubject: appended\n\nline one\nline two\n"
	res := wait(t, m.Append("INBOX", `(\Flagged $Label1)`, date, []byte(msg)))
	assert.Equal(t, "OK", res.Type)
	assert.Contains(t, res.Data[0].Text, "[APPENDUID 1 1]")

	_, err := waitResult(t, m.Append("Nowhere", "", time.Time{}, []byte(msg)))
	require.NoError(t, err, "a NO is a result, not an error")
	res, _ = waitResult(t, m.Append("Nowhere", "", time.Time{}, []byte(msg)))
	assert.Equal(t, "NO", res.Type)
	assert.Contains(t, res.Data[0].Text, "TRYCREATE")

	wait(t, m.Select("INBOX", false))
	res = wait(t, m.Fetch("1", "(FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])"))
	require.Len(t, res.Data, 2)
	want := strings.ReplaceAll(msg, "\n", "\r\n")
	assert.Equal(t, want, string(res.Data[0].Literal), "line endings sent as CRLF")
	head := []byte(res.Data[0].Text)
	assert.ElementsMatch(t, []string{`\flagged`, `$label1`}, ParseFlags(head))
	assert.Contains(t, res.Data[0].Text, fmt.Sprintf("RFC822.SIZE %d", len(want)))
	got, err := Internaldate2Time(head)
	require.NoError(t, err)
	assert.True(t, got.Equal(date), "INTERNALDATE %v, want %v", got, date)
}

func TestMemServerIdle(t *testing.T) {
	s := memStart(t)
	s.memSeed(t, 3)

	t.Run("ended by a command", func(t *testing.T) {
		m := s.memSelect(t, 3)
		start := time.Now()
		idle := m.Idle(time.Minute)
		receive(t, s.idling, "the server to see IDLE")
		res := wait(t, m.Noop())
		assert.Equal(t, "OK", res.Type)
		res = wait(t, idle)
		assert.Equal(t, "OK", res.Type)
		assert.Less(t, time.Since(start), 10*time.Second)
		assert.Equal(t, SELECTED, m.State())
	})

	t.Run("ended by its timeout", func(t *testing.T) {
		m := s.memSelect(t, 3)
		start := time.Now()
		wait(t, m.Idle(150*time.Millisecond))
		assert.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)
		assert.Equal(t, []Datum{txt("TIMEOUT")}, m.Response("IDLE").Data)
		assert.Equal(t, []Datum{{}}, m.Response("EXISTS").Data)
	})

	t.Run("ended by another connection's APPEND", func(t *testing.T) {
		m := s.memSelect(t, 3)
		other := s.memLogin(t)
		idle := m.Idle(time.Minute)
		receive(t, s.idling, "the server to see IDLE")
		// The server hears about changes only once its IDLE loop has
		// registered, which it does right after the signal, before it
		// blocks in the loop's select; an APPEND before that would be
		// reported only by the next command.
		waitSelecting(t, "github.com/emersion/go-imap/v2/imapserver.(*SessionTracker).Idle")
		start := time.Now()
		wait(t, other.Append("INBOX", "", time.Time{}, memMessage(4)))
		receive(t, idle.Done(), "IDLE to end on EXISTS")
		wait(t, idle)
		assert.Less(t, time.Since(start), 10*time.Second)
		assert.Equal(t, []Datum{txt("4")}, m.Response("EXISTS").Data)
		res := wait(t, m.Fetch("4", "(BODY.PEEK[])"))
		assert.Equal(t, memMessage(4), res.Data[0].Literal)
		assert.Equal(t, "BYE", wait(t, other.Logout()).Type)
	})
}

func TestMemServerMailboxes(t *testing.T) {
	s := memStart(t)
	s.memSeed(t, 5)
	m := s.memLogin(t)

	res := wait(t, m.Create("Work"))
	assert.Equal(t, "OK", res.Type)
	res = wait(t, m.Create("Work"))
	assert.Equal(t, "NO", res.Type)
	assert.Contains(t, res.Data[0].Text, "ALREADYEXISTS")
	wait(t, m.Create("Projects/2024"))
	// Non-ASCII goes as a literal of UTF-8. This server takes it and, as
	// the client did not ENABLE UTF8=ACCEPT, lists it in modified UTF-7.
	wait(t, m.Create("Grüße"))
	res = wait(t, m.List(`""`, "*"))
	assert.Equal(t, []string{`() "/" "Gr&APwA3w-e"`, `() "/" INBOX`, `() "/" "Projects/2024"`, `() "/" "Work"`}, texts(res.Data))
	utf8 := s.memLogin(t)
	wait(t, utf8.Enable("UTF8=ACCEPT"))
	res = wait(t, utf8.List(`""`, "Gr*"))
	assert.Equal(t, []string{`() "/" "Grüße"`}, texts(res.Data))
	res = wait(t, utf8.Status("Grüße", "(MESSAGES)"))
	assert.Equal(t, []Datum{txt(`"Grüße" (MESSAGES 0)`)}, res.Data)
	res = wait(t, m.List(`""`, "Proj*"))
	assert.Equal(t, []string{`() "/" "Projects/2024"`}, texts(res.Data))
	res = wait(t, m.List(`""`, "nothing*"))
	assert.Equal(t, []Datum{{}}, res.Data, "no LIST data: one empty Datum")

	wait(t, m.Rename("Work", "Play"))
	res = wait(t, m.Rename("Work", "Other"))
	assert.Equal(t, "NO", res.Type)
	res = wait(t, m.Status("Play", "(MESSAGES UIDNEXT)"))
	assert.Equal(t, []Datum{txt(`"Play" (MESSAGES 0 UIDNEXT 1)`)}, res.Data)
	res = wait(t, m.Status("INBOX", "(MESSAGES UNSEEN UIDVALIDITY)"))
	assert.Equal(t, []Datum{txt(`INBOX (MESSAGES 5 UIDVALIDITY 1 UNSEEN 5)`)}, res.Data)

	wait(t, m.Subscribe("Play"))
	res = wait(t, m.Lsub(`""`, "*"))
	assert.Equal(t, []string{`(\Subscribed) "/" "Play"`}, texts(res.Data), "this server adds \\Subscribed, even to LSUB")
	res = wait(t, m.Namespace())
	assert.Equal(t, []Datum{txt(`(("" "/")) NIL NIL`)}, res.Data)

	wait(t, m.Select("INBOX", false))
	res = wait(t, m.Copy("2:4", "Play"))
	assert.Equal(t, "OK", res.Type)
	assert.Contains(t, res.Data[0].Text, "[COPYUID")
	res = wait(t, m.Copy("1", "Nowhere"))
	assert.Equal(t, "NO", res.Type)
	res = wait(t, m.Status("Play", "(MESSAGES)"))
	assert.Equal(t, []Datum{txt(`"Play" (MESSAGES 3)`)}, res.Data)

	wait(t, m.Examine("Play"))
	assert.Equal(t, SELECTED, m.State())
	res = wait(t, m.Fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
	var subjects []string
	for _, d := range res.Data {
		if d.IsLiteral() {
			subjects = append(subjects, strings.TrimSpace(string(d.Literal)))
		}
	}
	assert.Equal(t, []string{"Subject: message 2", "Subject: message 3", "Subject: message 4"}, subjects)

	wait(t, m.Select("INBOX", false))
	res = wait(t, m.Delete("Play"))
	assert.Equal(t, "OK", res.Type)
	res = wait(t, m.Delete("Play"))
	assert.Equal(t, "NO", res.Type)
	res = wait(t, m.List(`""`, "P*"))
	assert.Equal(t, []string{`() "/" "Projects/2024"`}, texts(res.Data))
}

func TestMemServerUID(t *testing.T) {
	s := memStart(t)
	s.memSeed(t, 6)
	m := s.memSelect(t, 6)
	wait(t, m.Store("1:2", "+FLAGS.SILENT", `\Deleted`))
	wait(t, m.Expunge())

	res := wait(t, m.UID("SEARCH", "ALL"))
	assert.Equal(t, []Datum{txt("3 4 5 6")}, res.Data)
	res = wait(t, m.Search("", "ALL"))
	assert.Equal(t, []Datum{txt("1 2 3 4")}, res.Data)

	res = wait(t, m.UID("FETCH", "5", "(BODY.PEEK[])"))
	require.Len(t, res.Data, 2)
	assert.Equal(t, fmt.Sprintf("3 (UID 5 BODY[] {%d}", len(memMessage(5))), res.Data[0].Text)
	assert.Equal(t, memMessage(5), res.Data[0].Literal)

	res = wait(t, m.UID("FETCH", "4:*", "(FLAGS)"))
	assert.Equal(t, []string{"2 (UID 4 FLAGS ())", "3 (UID 5 FLAGS ())", "4 (UID 6 FLAGS ())"}, texts(res.Data))

	res = wait(t, m.UID("STORE", "6", "+FLAGS", `\Seen`))
	assert.Equal(t, []Datum{txt(`4 (UID 6 FLAGS (\seen))`)}, res.Data)
	res = wait(t, m.UID("SEARCH", "SEEN"))
	assert.Equal(t, []Datum{txt("6")}, res.Data)
	res = wait(t, m.UID("SEARCH", "UID", "3:4"))
	assert.Equal(t, []Datum{txt("3 4")}, res.Data)

	res = wait(t, m.Noop())
	assert.Equal(t, "OK", res.Type)
	res = wait(t, m.Check())
	assert.Equal(t, "OK", res.Type)
	for _, u := range m.PopUntaggedResponses() {
		assert.NotContains(t, []string{"FETCH", "SEARCH", "EXPUNGE"}, u.Type, "collected by the commands")
	}
}

// TestMemServerOtherSessionFlags: a flag change by another session reaches
// this one as an unsolicited FETCH, which no command of ours collects.
func TestMemServerOtherSessionFlags(t *testing.T) {
	s := memStart(t)
	s.memSeed(t, 2)
	m := s.memSelect(t, 2)
	other := s.memSelect(t, 2)
	wait(t, other.Store("2", "+FLAGS.SILENT", `\Flagged`))
	res := wait(t, m.Fetch("1", "(FLAGS)"))
	assert.Equal(t, []Datum{txt("1 (UID 1 FLAGS ())")}, res.Data, "FETCH 1 does not collect message 2's update")
	wait(t, m.Noop())
	fetch := m.Response("FETCH")
	assert.Equal(t, []Datum{txt(`2 (UID 2 FLAGS (\flagged))`)}, fetch.Data)
}

func TestMemServerLogout(t *testing.T) {
	s := memStart(t)
	m := s.memSelect(t, 0)
	res, err := waitResult(t, m.Logout())
	require.NoError(t, err)
	assert.Equal(t, "BYE", res.Type)
	assert.Equal(t, []Datum{txt("Logging out")}, res.Data)
	assert.Equal(t, LOGOUT, m.State())
	waitAborts(t, m.Noop())
	waitAborts(t, m.Logout())
}

func TestMemServerNoGoroutineLeak(t *testing.T) {
	s := memStart(t)
	s.memSeed(t, 20)
	leaks := newLeakBaseline()
	m, err := New(s.host, &Options{Port: s.port, Timeout: 20 * time.Second})
	require.NoError(t, err)
	wait(t, m.Login(s.user, s.pass))
	wait(t, m.Select("INBOX", false))
	done := make(chan struct{}, 20)
	for i := 1; i <= 20; i++ {
		m.Fetch(strconv.Itoa(i), "(BODY.PEEK[])").OnDone(func(Result, error) { done <- struct{}{} })
	}
	for range 20 {
		receive(t, done, "a FETCH callback")
	}
	wait(t, m.Idle(20*time.Millisecond))
	assert.Equal(t, "BYE", wait(t, m.Logout()).Type)
	leaks.check(t) // the server's goroutine for the connection ends too
}

// TestMemServerConcurrency: callbacks that issue commands and wait; a
// SELECT issued among FETCHes; commands from many goroutines ending an
// IDLE; LOGOUT issued behind pending FETCHes.
func TestMemServerConcurrency(t *testing.T) {
	const n = 50
	s := memStart(t)
	s.memSeed(t, n)
	wait(t, s.memLogin(t).Create("Empty"))
	m := s.memSelect(t, n)

	t.Run("callbacks issue and wait", func(t *testing.T) {
		sizes := make(chan string, n)
		for i := 1; i <= n; i++ {
			m.Fetch(strconv.Itoa(i), "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])").OnDone(func(r Result, err error) {
				r2, err2 := waitResult(t, m.Fetch(strconv.Itoa(i), "(RFC822.SIZE)"))
				if err != nil || err2 != nil {
					sizes <- fmt.Sprint(err, err2)
					return
				}
				sizes <- r2.Data[0].Text
			})
		}
		got := map[string]bool{}
		for range n {
			got[receive(t, sizes, "a callback's FETCH")] = true
		}
		for i := 1; i <= n; i++ {
			assert.True(t, got[fmt.Sprintf("%d (UID %d RFC822.SIZE %d)", i, i, len(memMessage(i)))], "FETCH %d", i)
		}
	})

	t.Run("SELECT among FETCHes", func(t *testing.T) {
		var before []*Command
		for i := 1; i <= 20; i++ {
			before = append(before, m.Fetch(strconv.Itoa(i), "(BODY.PEEK[])"))
		}
		sel := m.Select("Empty", false)
		after := m.Search("", "ALL")
		for i, c := range before {
			res := wait(t, c)
			assert.Equal(t, memMessage(i+1), res.Data[0].Literal, "FETCH %d ran before the SELECT", i+1)
		}
		assert.Equal(t, []Datum{txt("0")}, wait(t, sel).Data)
		assert.Equal(t, []Datum{txt("")}, wait(t, after).Data, "SEARCH ran after the SELECT")
		wait(t, m.Select("INBOX", false))
	})

	t.Run("IDLE ended by commands from goroutines", func(t *testing.T) {
		idle := m.Idle(time.Minute)
		var wg sync.WaitGroup
		for g := 1; g <= 10; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := waitResult(t, m.Fetch(strconv.Itoa(g), "(BODY.PEEK[])"))
				if assert.NoError(t, err) {
					assert.Equal(t, memMessage(g), res.Data[0].Literal)
				}
			}()
		}
		wg.Wait()
		assert.Equal(t, "OK", wait(t, idle).Type)
	})

	t.Run("LOGOUT behind pending FETCHes", func(t *testing.T) {
		var pending []*Command
		for i := 1; i <= n; i++ {
			pending = append(pending, m.Fetch(strconv.Itoa(i), "(BODY.PEEK[])"))
		}
		logout := m.Logout()
		late := m.Noop()
		for i, c := range pending {
			res := wait(t, c)
			assert.Equal(t, memMessage(i+1), res.Data[0].Literal)
		}
		assert.Equal(t, "BYE", wait(t, logout).Type)
		waitAborts(t, late)
	})
}
