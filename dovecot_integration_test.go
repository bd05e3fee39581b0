package imaplib2

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The Dovecot integration suite: every command method of the library runs
// against a real Dovecot 2.3 (started by dovecot_test.go), and every result
// is checked.
//
// TestDovecot runs its subtests in parallel, each with its own Dovecot user.
// Each subtest checks, with the leak checker (checkLeaks, testutil_test.go),
// which is exact while tests run in parallel, that every goroutine it
// started (directly or through the goroutines it started: the connection's
// reader, writer and callback goroutines, a stream's process goroutines)
// has ended once its connections are logged out; TestDovecot checks the
// same for all of them once they are done.
//
// The last subtests are regressions for library bugs this suite found.

func TestDovecot(t *testing.T) {
	d := startDovecot(t)
	checkLeaks(t)
	tests := []struct {
		name string
		fn   func(*testing.T, *dovecotServer)
	}{
		{"Login", dovecotTestLogin},
		{"LoginCramMD5", dovecotTestCramMD5},
		{"AuthenticatePlain", dovecotTestAuthenticatePlain},
		{"SASL", dovecotTestSASL},
		{"SASLOAuth", dovecotTestSASLOAuth},
		{"Mailboxes", dovecotTestMailboxes},
		{"Messages", dovecotTestMessages},
		{"Extensions", dovecotTestExtensions},
		{"ThousandPipelinedFetches", dovecotTestThousandFetches},
		{"IdleWokenByAppend", dovecotTestIdleWoken},
		{"IdleEndedByCommand", dovecotTestIdleEndedByCommand},
		{"StartTLSCompress", dovecotTestStartTLSCompress},
		{"NewSSL", dovecotTestNewSSL},
		{"Stream", dovecotTestStream},
		{"Concurrency", dovecotTestConcurrency},
		{"Stress", dovecotTestStress},
		{"NonASCIIMailboxName", dovecotTestNonASCIIMailbox},
		{"EnableUTF8AcceptNotOffered", dovecotTestEnableUTF8NotOffered},
		{"PipelinedSearches", dovecotTestPipelinedSearches},
		{"TypedOracle", dovecotTestTypedOracle},
		{"Resync", dovecotTestResync},
		{"MoveCopyUID", dovecotTestMoveCopyUID},
		{"Notify", dovecotTestNotify},
		{"ListStatus", dovecotTestListStatus},
		{"Selected", dovecotTestSelected},
		{"PipelinedAppend", dovecotTestPipelinedAppend},
		{"ESearchPipelined", dovecotTestESearchPipelined},
	}
	t.Run("group", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				checkLeaks(t)
				tt.fn(t, d)
			})
		}
	})
}

// ---------------------------------------------------------------------------
// Helpers

// dovecotNew connects to the plain port (Timeout one minute unless opts says
// otherwise). The connection is shut down when the test ends, should the
// test not log out.
func dovecotNew(t *testing.T, d *dovecotServer, opts *Options) *IMAP4 {
	t.Helper()
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Port == 0 {
		o.Port = d.Port
	}
	if o.Timeout == 0 {
		o.Timeout = time.Minute
	}
	m, err := New(d.Host, &o)
	require.NoError(t, err)
	t.Cleanup(func() { m.Shutdown() })
	return m
}

// dovecotLogin connects and logs in as a new user; it returns the
// connection and the user's name and password.
func dovecotLogin(t *testing.T, d *dovecotServer) (*IMAP4, string, string) {
	t.Helper()
	user, pass := d.newUser(t)
	m := dovecotNew(t, d, nil)
	waitOK(t, m.Login(user, pass))
	require.Equal(t, AUTH, m.State())
	return m, user, pass
}

// dovecotLogout logs out and checks imaplib2's result (Type BYE), the
// LOGOUT state, that later commands abort, and that the connection's
// goroutines have stopped.
func dovecotLogout(t *testing.T, m *IMAP4) {
	t.Helper()
	res, err := waitResult(t, m.Logout())
	require.NoError(t, err)
	assert.Equal(t, "BYE", res.Type)
	assert.Equal(t, "Logging out", res.Data[0].Text)
	assert.Equal(t, LOGOUT, m.State())
	_, err = waitResult(t, m.Noop())
	assert.ErrorIs(t, err, ErrAbort, "a command after LOGOUT aborts")
	assert.NoError(t, m.Shutdown(), "Shutdown after Logout is harmless")
	waitStopped(t, m)
}

// dovecotMessage builds a small RFC 5322 message with CRLF line endings.
func dovecotMessage(subject, body string, headers ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: sender@example.org\r\nTo: rcpt@example.org\r\nSubject: %s\r\n", subject)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	fmt.Fprintf(&b, "\r\n%s\r\n", body)
	return []byte(b.String())
}

// dovecotList parses LIST/LSUB data into mailbox name -> attributes.
func dovecotList(t *testing.T, data []Datum) map[string]string {
	t.Helper()
	re := regexp.MustCompile(`^\(([^)]*)\) "/" (.+)$`)
	boxes := map[string]string{}
	for _, d := range data {
		if d.Text == "" && !d.IsLiteral() {
			continue // nothing listed
		}
		m := re.FindStringSubmatch(d.Text)
		require.NotNil(t, m, "LIST line %q", d.Text)
		name := m[2]
		if unq, err := strconv.Unquote(name); err == nil && strings.HasPrefix(name, `"`) {
			name = unq
		}
		boxes[name] = m[1]
	}
	return boxes
}

// withoutRecent drops \Recent, which depends on which session saw a
// message first.
func withoutRecent(flags []string) []string {
	return slices.DeleteFunc(slices.Clone(flags), func(f string) bool { return f == `\Recent` })
}

// fetched describes one message of FETCH data: its text up to the literal,
// the literal, and the text after it.
type fetched struct {
	head    string
	literal []byte
	tail    string
}

// dovecotFetched splits FETCH data of messages with one literal each.
func dovecotFetched(t *testing.T, data []Datum) []fetched {
	t.Helper()
	require.Zero(t, len(data)%2, "FETCH data with one literal per message comes in pairs: %v", texts(data))
	var out []fetched
	for i := 0; i < len(data); i += 2 {
		require.True(t, data[i].IsLiteral(), "Datum %d must hold the literal: %q", i, data[i].Text)
		require.False(t, data[i+1].IsLiteral(), "Datum %d: %q", i+1, data[i+1].Text)
		out = append(out, fetched{data[i].Text, data[i].Literal, data[i+1].Text})
	}
	return out
}

// ---------------------------------------------------------------------------
// Connecting and logging in

// dovecotTestLogin: New, the greeting, capabilities before and after
// LOGIN, ProtocolVersion, State, a wrong password, CAPABILITY, Logout.
func dovecotTestLogin(t *testing.T, d *dovecotServer) {
	user, pass := d.newUser(t)
	m := dovecotNew(t, d, nil)
	assert.True(t, strings.HasPrefix(m.Welcome(), "* OK [CAPABILITY "), m.Welcome())
	assert.Equal(t, NONAUTH, m.State())
	assert.Equal(t, "IMAP4REV1", m.ProtocolVersion())
	pre := m.Capabilities()
	for _, c := range []string{"IMAP4REV1", "STARTTLS", "AUTH=PLAIN", "AUTH=CRAM-MD5", "LITERAL+", "IDLE"} {
		assert.Contains(t, pre, c, "capabilities from the greeting")
	}
	assert.NotContains(t, pre, "ACL", "ACL is announced only after login")

	err := waitFails(t, m.Login(user, "wrong-password"))
	assert.Contains(t, err.Error(), "LOGIN")
	assert.Contains(t, err.Error(), "[AUTHENTICATIONFAILED] Authentication failed.")
	assert.Equal(t, NONAUTH, m.State(), "a failed LOGIN leaves the state alone")

	res := waitOK(t, m.Login(user, pass))
	assert.Contains(t, res.Data[0].Text, "Logged in")
	assert.Equal(t, AUTH, m.State())
	post := m.Capabilities()
	for _, c := range []string{"IDLE", "COMPRESS=DEFLATE", "ACL", "QUOTA", "NAMESPACE", "UIDPLUS", "MOVE", "SORT", "THREAD=REFERENCES", "UNSELECT", "ID", "ENABLE", "CONDSTORE"} {
		assert.Contains(t, post, c, "capabilities after LOGIN (from its CAPABILITY code)")
	}
	assert.NotContains(t, post, "AUTH=PLAIN", "capabilities were replaced after LOGIN")
	assert.Equal(t, "IMAP4REV1", m.ProtocolVersion())

	res = waitOK(t, m.Capability())
	require.Len(t, res.Data, 1)
	assert.True(t, strings.HasPrefix(res.Data[0].Text, "IMAP4rev1 "), res.Data[0].Text)
	assert.Contains(t, res.Data[0].Text, " QUOTA ")
	assert.Equal(t, post, m.Capabilities(), "CAPABILITY confirms the list learned at LOGIN")

	err = waitFails(t, m.Login(user, pass))
	assert.Contains(t, err.Error(), "illegal in state AUTH")
	assert.Empty(t, m.Login(user, pass).Tag(), "a command refused before sending never gets a tag")
	dovecotLogout(t, m)
}

// dovecotTestCramMD5: LoginCramMD5 with a wrong and the right password.
func dovecotTestCramMD5(t *testing.T, d *dovecotServer) {
	user, pass := d.newUser(t)
	m := dovecotNew(t, d, nil)
	require.Contains(t, m.Capabilities(), "AUTH=CRAM-MD5")
	err := waitFails(t, m.LoginCramMD5(user, "wrong-password"))
	assert.Contains(t, err.Error(), "AUTHENTICATIONFAILED")
	assert.Equal(t, NONAUTH, m.State())

	res := waitOK(t, m.LoginCramMD5(user, pass))
	assert.Contains(t, res.Data[0].Text, "Logged in")
	assert.Equal(t, AUTH, m.State())
	assert.Contains(t, m.Capabilities(), "ACL", "capabilities refreshed after AUTHENTICATE")
	res = waitOK(t, m.MyRights("INBOX"))
	assert.Equal(t, "INBOX lrwstipekxacd", res.Data[0].Text, "logged in as the owner of INBOX")
	dovecotLogout(t, m)
}

// dovecotTestAuthenticatePlain: Authenticate("PLAIN", ...) with the
// server's empty challenge, a cancelled exchange and a successful one.
func dovecotTestAuthenticatePlain(t *testing.T, d *dovecotServer) {
	user, pass := d.newUser(t)
	m := dovecotNew(t, d, nil)

	err := waitFails(t, m.Authenticate("PLAIN", func([]byte) ([]byte, error) {
		return nil, errors.New("no credentials at hand")
	}))
	t.Logf("cancelled AUTHENTICATE: %v", err)
	assert.Equal(t, NONAUTH, m.State())

	var challenges [][]byte
	res := waitOK(t, m.Authenticate("plain", func(challenge []byte) ([]byte, error) {
		challenges = append(challenges, challenge)
		return []byte("\x00" + user + "\x00" + pass), nil
	}))
	assert.Equal(t, [][]byte{nil}, challenges, "PLAIN: the client speaks first, asked once with a nil challenge")
	assert.Contains(t, res.Data[0].Text, "Logged in")
	assert.Equal(t, AUTH, m.State())
	assert.Contains(t, m.Capabilities(), "QUOTA")
	res = waitOK(t, m.GetACL("INBOX"))
	assert.Equal(t, "INBOX "+user+" lrwstipekxacd", res.Data[0].Text)
	dovecotLogout(t, m)
}

// dovecotTestSASL: SASLPlain, SASLScram("SHA-1") and SASLScram("SHA-256")
// with the initial response on the AUTHENTICATE line (SASL-IR, which
// Dovecot offers) and without it, each first with a wrong password, then
// with the right one. SCRAM succeeds only if Dovecot's signature checks
// out: a mismatch would cancel the exchange.
func dovecotTestSASL(t *testing.T, d *dovecotServer) {
	user, pass := d.newUser(t)
	for _, ir := range []bool{true, false} {
		for mechanism, auth := range map[string]func(password string) Authenticator{
			"PLAIN":         func(password string) Authenticator { return SASLPlain("", user, password) },
			"SCRAM-SHA-1":   func(password string) Authenticator { return SASLScram("SHA-1", user, password) },
			"SCRAM-SHA-256": func(password string) Authenticator { return SASLScram("SHA-256", user, password) },
		} {
			err := dovecotAuthenticate(t, d, ir, mechanism, auth("wrong-password"), auth(pass))
			assert.Contains(t, err.Error(), "[AUTHENTICATIONFAILED]", "%s (SASL-IR %v)", mechanism, ir)
		}
	}
}

// dovecotTestSASLOAuth: SASLXOAuth2 and SASLOAuthBearer against Dovecot's
// oauth2 passdb, which asks the fixture's introspection endpoint about the
// token, with and without SASL-IR: first a token the endpoint does not
// know, refused with the error JSON as a challenge (answered as each
// mechanism says; the command's error holds the JSON), then a good one.
func dovecotTestSASLOAuth(t *testing.T, d *dovecotServer) {
	user, token := d.newOAuthUser(t)
	for _, ir := range []bool{true, false} {
		xoauth2 := dovecotAuthenticate(t, d, ir, "XOAUTH2", SASLXOAuth2(user, "unknown-token"), SASLXOAuth2(user, token))
		assert.Contains(t, xoauth2.Error(), `(server said: {"status":"401","schemes":"bearer","scope":"mail"})`, "SASL-IR %v", ir)
		oauthBearer := dovecotAuthenticate(t, d, ir, "OAUTHBEARER",
			SASLOAuthBearer(user, d.Host, d.Port, "unknown-token"), SASLOAuthBearer(user, d.Host, d.Port, token))
		assert.Contains(t, oauthBearer.Error(), `(server said: {"status":"invalid_token"})`, "SASL-IR %v", ir)
	}
}

// dovecotAuthenticate connects, offered SASL-IR or (through
// dovecotNewWithoutSASLIR) not, and authenticates with mechanism: with
// bad, which must fail with ErrError, not an abort, and leave the state
// NONAUTH; then with good, which must log in as the owner of INBOX. It
// logs out and returns bad's error.
func dovecotAuthenticate(t *testing.T, d *dovecotServer, ir bool, mechanism string, bad, good Authenticator) error {
	t.Helper()
	what := fmt.Sprintf("%s (SASL-IR %v)", mechanism, ir)
	var m *IMAP4
	if ir {
		m = dovecotNew(t, d, nil)
	} else {
		m = dovecotNewWithoutSASLIR(t, d)
	}
	caps := m.Capabilities()
	require.Contains(t, caps, "AUTH="+mechanism)
	require.Equal(t, ir, slices.Contains(caps, "SASL-IR"), what)

	err := waitFails(t, m.Authenticate(mechanism, bad))
	assert.Equal(t, NONAUTH, m.State(), what)

	res := waitOK(t, m.Authenticate(mechanism, good))
	assert.Contains(t, res.Data[0].Text, "Logged in", what)
	assert.Equal(t, AUTH, m.State(), what)
	res = waitOK(t, m.MyRights("INBOX"))
	assert.Equal(t, "INBOX lrwstipekxacd", res.Data[0].Text, "%s: logged in as the owner of INBOX", what)
	dovecotLogout(t, m)
	return err
}

// dovecotNewWithoutSASLIR connects through a proxy that takes SASL-IR out
// of the capabilities the server announces (Dovecot always offers it), so
// that AUTHENTICATE goes without an initial response. The proxy ends with
// the test.
func dovecotNewWithoutSASLIR(t *testing.T, d *dovecotServer) *IMAP4 {
	t.Helper()
	server, err := net.DialTimeout("tcp", net.JoinHostPort(d.Host, strconv.Itoa(d.Port)), 5*time.Second)
	require.NoError(t, err)
	client, proxy := net.Pipe()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // client to server, as it is
		defer wg.Done()
		io.Copy(server, proxy)
		server.Close()
	}()
	go func() { // server to client, without SASL-IR
		defer wg.Done()
		defer proxy.Close()
		r := bufio.NewReader(server)
		for {
			line, err := r.ReadString('\n')
			if strings.Contains(line, "CAPABILITY") {
				line = strings.ReplaceAll(line, " SASL-IR", "")
			}
			if _, werr := io.WriteString(proxy, line); werr != nil || err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		server.Close()
		proxy.Close()
		wg.Wait()
	})
	m, err := NewConn(client, &Options{Timeout: time.Minute})
	require.NoError(t, err)
	t.Cleanup(func() { m.Shutdown() })
	return m
}

// ---------------------------------------------------------------------------
// Mailboxes

// dovecotTestMailboxes: Create, List, Lsub, Subscribe, Unsubscribe, Rename,
// Delete and Status, checking the LIST and STATUS data texts.
func dovecotTestMailboxes(t *testing.T, d *dovecotServer) {
	m, _, _ := dovecotLogin(t, d)

	res := waitOK(t, m.List(`""`, "*"))
	assert.Equal(t, []string{`(\HasNoChildren) "/" INBOX`}, texts(res.Data))

	for _, name := range []string{"work", "work/sub", "two words", `quote"and\back`, "Entw&APw-rfe"} {
		res = waitOK(t, m.Create(name))
		assert.Contains(t, res.Data[0].Text, "Create completed", "CREATE collects nothing: the tagged text")
	}
	res, err := waitResult(t, m.Create("work"))
	require.NoError(t, err, "a tagged NO is a Result, not an error")
	assert.Equal(t, "NO", res.Type)
	assert.Contains(t, res.Data[0].Text, "Mailbox already exists")

	res = waitOK(t, m.List(`""`, "*"))
	assert.Equal(t, map[string]string{
		"INBOX":          `\HasNoChildren`,
		"work":           `\HasChildren`,
		"work/sub":       `\HasNoChildren`,
		"two words":      `\HasNoChildren`,
		`quote"and\back`: `\HasNoChildren`,
		"Entw&APw-rfe":   `\HasNoChildren`,
	}, dovecotList(t, res.Data))
	assert.Contains(t, texts(res.Data), `(\HasNoChildren) "/" "two words"`)
	res = waitOK(t, m.List("work/", "%"))
	assert.Equal(t, []string{`(\HasNoChildren) "/" work/sub`}, texts(res.Data))
	res = waitOK(t, m.List(`""`, "nothing-*"))
	assert.Equal(t, []Datum{{}}, res.Data, "no LIST lines: one empty Datum")

	res = waitOK(t, m.Lsub(`""`, "*"))
	assert.Equal(t, []Datum{{}}, res.Data, "nothing subscribed yet")
	waitOK(t, m.Subscribe("two words"))
	waitOK(t, m.Subscribe("work/sub"))
	res = waitOK(t, m.Lsub(`""`, "*"))
	assert.ElementsMatch(t, []string{`() "/" "two words"`, `() "/" work/sub`}, texts(res.Data))
	waitOK(t, m.Unsubscribe("work/sub"))
	res = waitOK(t, m.Lsub(`""`, "*"))
	assert.Equal(t, []string{`() "/" "two words"`}, texts(res.Data))

	res = waitOK(t, m.Status("two words", "(MESSAGES RECENT UIDNEXT UNSEEN)"))
	assert.Equal(t, []string{`"two words" (MESSAGES 0 RECENT 0 UIDNEXT 1 UNSEEN 0)`}, texts(res.Data))
	date := time.Date(2023, 5, 6, 7, 8, 9, 0, time.UTC)
	waitOK(t, m.Append("two words", "", date, dovecotMessage("in a box", "hello")))
	waitOK(t, m.Append("two words", `\Seen`, date, dovecotMessage("seen", "hello")))
	res = waitOK(t, m.Status("two words", "(MESSAGES UIDNEXT UNSEEN)"))
	assert.Equal(t, []string{`"two words" (MESSAGES 2 UIDNEXT 3 UNSEEN 1)`}, texts(res.Data))

	res = waitOK(t, m.Rename("two words", "renamed box"))
	assert.Contains(t, res.Data[0].Text, "Rename completed")
	res = waitOK(t, m.Status("renamed box", "(MESSAGES)"))
	assert.Equal(t, []string{`"renamed box" (MESSAGES 2)`}, texts(res.Data), "the messages moved with the mailbox")
	res, err = waitResult(t, m.Status("two words", "(MESSAGES)"))
	require.NoError(t, err)
	assert.Equal(t, "NO", res.Type, "the old name is gone")

	waitOK(t, m.Delete("work/sub"))
	waitOK(t, m.Delete("renamed box"))
	waitOK(t, m.Delete(`quote"and\back`))
	res, err = waitResult(t, m.Delete("never-created"))
	require.NoError(t, err)
	assert.Equal(t, "NO", res.Type)
	res = waitOK(t, m.List(`""`, "*"))
	assert.Equal(t, map[string]string{"INBOX": `\HasNoChildren`, "work": `\HasNoChildren`, "Entw&APw-rfe": `\HasNoChildren`},
		dovecotList(t, res.Data))
	dovecotLogout(t, m)
}

// ---------------------------------------------------------------------------
// Messages

// dovecotTestMessages: Append, Select, Examine, Fetch, Search, Sort,
// Thread, Store, Copy, UID FETCH/SEARCH/STORE/COPY/MOVE/EXPUNGE, Expunge,
// Check, Noop, Recent, Partial, Xatom("UNSELECT"), Close, Response and
// PopUntaggedResponses.
func dovecotTestMessages(t *testing.T, d *dovecotServer) {
	m, _, _ := dovecotLogin(t, d)
	waitOK(t, m.Create("dest"))

	// Three messages: a thread of two and one with an encoded subject.
	zone := time.FixedZone("", 2*3600)
	msgs := []struct {
		raw   []byte
		flags string
		want  []string // flags, without \Recent
		date  time.Time
	}{
		{dovecotMessage("hello world", "first body", "Message-ID: <1@example.org>"),
			`\Seen`, []string{`\Seen`}, time.Date(2021, 1, 2, 3, 4, 5, 0, zone)},
		{dovecotMessage("two words inside", "second body", "Message-ID: <2@example.org>", "In-Reply-To: <1@example.org>", "References: <1@example.org>"),
			`(\Flagged $Label)`, []string{`\Flagged`, "$Label"}, time.Date(2021, 6, 7, 8, 9, 10, 0, time.UTC)},
		{dovecotMessage("=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=", "third body", "Message-ID: <3@example.org>"),
			"", []string{}, time.Date(2022, 12, 31, 23, 59, 58, 0, time.FixedZone("", -5*3600))},
	}
	appends := make([]*Command, len(msgs))
	for i, msg := range msgs { // issued at once; under LITERAL+ they pipeline
		appends[i] = m.Append("INBOX", msg.flags, msg.date, msg.raw)
	}
	for _, c := range appends {
		waitOK(t, c)
	}
	uids := m.Response("APPENDUID")
	require.Len(t, uids.Data, 3, "one APPENDUID code per APPEND: %v", texts(uids.Data))
	validity, _, _ := strings.Cut(uids.Data[0].Text, " ")
	assert.Equal(t, []string{validity + " 1", validity + " 2", validity + " 3"}, texts(uids.Data))
	assert.Equal(t, []Datum{{}}, m.Response("APPENDUID").Data, "Response removes what it returns")

	res := waitOK(t, m.Select("INBOX", false))
	assert.Equal(t, []string{"3"}, texts(res.Data), "SELECT gives the EXISTS count")
	assert.Equal(t, SELECTED, m.State())
	assert.Equal(t, []string{validity}, texts(m.Response("UIDVALIDITY").Data))
	assert.Equal(t, []string{"3"}, texts(m.Response("RECENT").Data))
	untagged := m.PopUntaggedResponses()
	types := map[string][]string{}
	for _, u := range untagged {
		types[u.Type] = append(types[u.Type], texts(u.Data)...)
	}
	assert.Equal(t, []string{`(\Answered \Flagged \Deleted \Seen \Draft $Label)`}, types["FLAGS"])
	assert.Equal(t, []string{"4"}, types["UIDNEXT"])
	assert.Contains(t, types, "READ-WRITE")
	assert.NotContains(t, types, "UIDVALIDITY", "taken by Response before")
	assert.NotContains(t, types, "EXISTS", "collected by SELECT")
	assert.Empty(t, m.PopUntaggedResponses(), "everything was popped")

	// FETCH: bodies, INTERNALDATE and FLAGS of all three.
	res = waitOK(t, m.Fetch("1:3", "(UID FLAGS INTERNALDATE BODY.PEEK[])"))
	got := dovecotFetched(t, res.Data)
	require.Len(t, got, 3)
	for i, f := range got {
		n := i + 1
		assert.True(t, strings.HasPrefix(f.head, fmt.Sprintf("%d (UID %d FLAGS (", n, n)), f.head)
		assert.True(t, strings.HasSuffix(f.head, fmt.Sprintf("BODY[] {%d}", len(msgs[i].raw))), f.head)
		assert.Equal(t, ")", f.tail)
		assert.Equal(t, string(msgs[i].raw), string(f.literal), "message %d round trip", n)
		when, err := Internaldate2Time([]byte(f.head))
		require.NoError(t, err, f.head)
		assert.True(t, when.Equal(msgs[i].date), "message %d: INTERNALDATE %v, appended with %v", n, when, msgs[i].date)
		assert.ElementsMatch(t, msgs[i].want, withoutRecent(ParseFlags([]byte(f.head))), f.head)
	}
	res = waitOK(t, m.Fetch("2", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
	require.Len(t, res.Data, 2)
	assert.Equal(t, "2 (BODY[HEADER.FIELDS (SUBJECT)] {29}", res.Data[0].Text)
	assert.Equal(t, "Subject: two words inside\r\n\r\n", string(res.Data[0].Literal))
	res = waitOK(t, m.Fetch("1:*", "(UID RFC822.SIZE)"))
	require.Len(t, res.Data, 3)
	for i, d := range res.Data {
		assert.Equal(t, fmt.Sprintf("%d (UID %d RFC822.SIZE %d)", i+1, i+1, len(msgs[i].raw)), d.Text)
	}

	// SEARCH, with and without a charset, with quoted and literal criteria.
	searches := []struct {
		charset  string
		criteria []string
		want     string
	}{
		{"", []string{"ALL"}, "1 2 3"},
		{"", []string{"SUBJECT", "two words"}, "2"},          // quoted by the library
		{"", []string{"SUBJECT", `"two words"`}, "2"},        // quoted by the caller
		{"UTF-8", []string{"SUBJECT", "two words"}, "2"},     // CHARSET UTF-8
		{"UTF-8", []string{"SUBJECT", "Köln"}, "3"},          // non-ASCII: a literal
		{"UTF-8", []string{"BODY", "third body"}, "3"},       // BODY search
		{"", []string{"FLAGGED"}, "2"},                       // flags
		{"", []string{"KEYWORD", "$Label"}, "2"},             // keywords
		{"", []string{"OR", "SEEN", "FLAGGED"}, "1 2"},       // several keys
		{"", []string{"SINCE", "1-Jun-2021"}, "2 3"},         // dates
		{"", []string{"SUBJECT", "no such subject"}, ""},     // * SEARCH without numbers
		{"", []string{"HEADER", "Message-ID", "<3@ex"}, "3"}, // '<' is an atom char
	}
	for _, s := range searches {
		res = waitOK(t, m.Search(s.charset, s.criteria...))
		assert.Equal(t, []string{s.want}, texts(res.Data), "SEARCH %q %q", s.charset, s.criteria)
	}
	err := waitFails(t, m.Search("", "NOSUCHKEY"))
	assert.Contains(t, err.Error(), "BAD")

	// SORT and THREAD.
	res = waitOK(t, m.Sort("REVERSE DATE", "UTF-8", "ALL"))
	assert.Equal(t, []string{"3 2 1"}, texts(res.Data))
	res = waitOK(t, m.Sort("(SUBJECT)", "", "ALL"))
	assert.Equal(t, []string{"3 1 2"}, texts(res.Data), "by base subject, decoded: Grüße, hello, two")
	res = waitOK(t, m.Sort("ARRIVAL", "UTF-8", "SUBJECT", "o"))
	assert.Equal(t, []string{"1 2 3"}, texts(res.Data))
	res = waitOK(t, m.Thread("REFERENCES", "UTF-8", "ALL"))
	assert.Equal(t, []string{"(1 2)(3)"}, texts(res.Data))
	res = waitOK(t, m.Thread("ORDEREDSUBJECT", "", "NOT", "FLAGGED"))
	assert.Equal(t, []string{"(1)(3)"}, texts(res.Data))

	// STORE: the FETCH data it causes; .SILENT causes none.
	res = waitOK(t, m.Store("1", "+FLAGS", `\Answered`))
	require.Len(t, res.Data, 1)
	assert.True(t, strings.HasPrefix(res.Data[0].Text, "1 (FLAGS ("), res.Data[0].Text)
	assert.ElementsMatch(t, []string{`\Seen`, `\Answered`}, withoutRecent(ParseFlags([]byte(res.Data[0].Text))))
	res = waitOK(t, m.Store("1:2", "+FLAGS", `(\Draft)`))
	require.Len(t, res.Data, 2)
	assert.ElementsMatch(t, []string{`\Seen`, `\Answered`, `\Draft`}, withoutRecent(ParseFlags([]byte(res.Data[0].Text))))
	assert.ElementsMatch(t, []string{`\Flagged`, "$Label", `\Draft`}, withoutRecent(ParseFlags([]byte(res.Data[1].Text))))
	res = waitOK(t, m.Store("1:2", "-FLAGS.SILENT", `\Answered \Draft`))
	assert.Equal(t, []Datum{{}}, res.Data, "-FLAGS.SILENT: no FETCH data")
	res = waitOK(t, m.Fetch("1:2", "FLAGS"))
	require.Len(t, res.Data, 2)
	assert.ElementsMatch(t, []string{`\Seen`}, withoutRecent(ParseFlags([]byte(res.Data[0].Text))))
	assert.ElementsMatch(t, []string{`\Flagged`, "$Label"}, withoutRecent(ParseFlags([]byte(res.Data[1].Text))))

	// COPY and the UID commands.
	res = waitOK(t, m.Copy("1:2", "dest"))
	assert.Contains(t, res.Data[0].Text, "Copy completed")
	destUIDs := m.Response("COPYUID")
	require.Len(t, destUIDs.Data, 1)
	destValidity, rest, _ := strings.Cut(destUIDs.Data[0].Text, " ")
	assert.Equal(t, "1:2 1:2", rest)
	res = waitOK(t, m.Status("dest", "(MESSAGES)"))
	assert.Equal(t, []string{"dest (MESSAGES 2)"}, texts(res.Data))

	res = waitOK(t, m.UID("FETCH", "2:3", "(FLAGS BODY.PEEK[TEXT])"))
	got = dovecotFetched(t, res.Data)
	require.Len(t, got, 2)
	assert.True(t, strings.HasPrefix(got[0].head, "2 (UID 2 FLAGS ("), got[0].head)
	assert.Equal(t, "second body\r\n", string(got[0].literal))
	assert.Equal(t, "third body\r\n", string(got[1].literal))
	res = waitOK(t, m.UID("SEARCH", "SUBJECT", "hello world"))
	assert.Equal(t, []string{"1"}, texts(res.Data))
	res = waitOK(t, m.UID("SEARCH", "UID", "2:*"))
	assert.Equal(t, []string{"2 3"}, texts(res.Data))
	res = waitOK(t, m.UID("STORE", "3", "+FLAGS", `\Deleted`))
	require.Len(t, res.Data, 1, "UID STORE collects the FETCH of UID 3: %v", texts(res.Data))
	assert.Contains(t, res.Data[0].Text, "UID 3")
	assert.ElementsMatch(t, []string{`\Deleted`}, withoutRecent(ParseFlags([]byte(res.Data[0].Text))))
	waitOK(t, m.UID("COPY", "3", "dest"))
	assert.Equal(t, []string{destValidity + " 3 3"}, texts(m.Response("COPYUID").Data))
	res = waitOK(t, m.UID("MOVE", "2", "dest"))
	assert.Equal(t, []string{destValidity + " 2 4"}, texts(m.Response("COPYUID").Data))
	assert.Equal(t, []string{"2"}, texts(res.Data), "MOVE collects the EXPUNGE of message 2")
	// INBOX now holds UID 1 (message 1) and UID 3 (message 2, \Deleted).
	res = waitOK(t, m.UID("EXPUNGE", "3"))
	assert.Equal(t, []string{"2"}, texts(res.Data), "UID EXPUNGE 3 collects the EXPUNGE of message 2")
	res = waitOK(t, m.UID("FETCH", "1:*", "UID"))
	assert.Equal(t, []string{"1 (UID 1)"}, texts(res.Data))

	// EXPUNGE: the expunged numbers, in order.
	for i := 0; i < 3; i++ {
		waitOK(t, m.Append("INBOX", `\Deleted`, time.Time{}, dovecotMessage(fmt.Sprintf("doomed %d", i), "bye")))
	}
	waitOK(t, m.Noop()) // let the new messages be announced
	res = waitOK(t, m.Fetch("2:4", "(FLAGS)"))
	require.Len(t, res.Data, 3)
	waitOK(t, m.Store("3", "-FLAGS.SILENT", `\Deleted`)) // keep the middle one
	res = waitOK(t, m.Expunge())
	// Messages 2 and 4 go: reported as "4 2" (Dovecot's order) or "2 3".
	assert.Contains(t, [][]string{{"4", "2"}, {"2", "3"}}, texts(res.Data), "the expunged message numbers, in order")
	res = waitOK(t, m.Search("", "ALL"))
	assert.Equal(t, []string{"1 2"}, texts(res.Data))

	res = waitOK(t, m.Check())
	assert.Contains(t, res.Data[0].Text, "Check completed")
	res = waitOK(t, m.Noop())
	assert.Contains(t, res.Data[0].Text, "NOOP completed")

	// PARTIAL is not in Dovecot 2.3: a BAD, and the connection goes on.
	err = waitFails(t, m.Partial("1", "BODY[]", 0, 10))
	assert.Contains(t, err.Error(), "PARTIAL: BAD")
	assert.Contains(t, err.Error(), "Unknown command")

	// EXAMINE, RECENT from the store, then from a NOOP.
	res = waitOK(t, m.Examine("dest"))
	assert.Equal(t, []string{"4"}, texts(res.Data))
	assert.Equal(t, []string{""}, texts(m.Response("READ-ONLY").Data), "the tagged [READ-ONLY] code")
	assert.Equal(t, []string{"4"}, texts(m.Response("RECENT").Data), "EXAMINE does not take \\Recent away")
	res = waitOK(t, m.Select("dest", false))
	assert.Equal(t, []string{"4"}, texts(res.Data))
	res = waitOK(t, m.Recent())
	assert.Equal(t, []string{"4"}, texts(res.Data), "RECENT stored by SELECT")
	res = waitOK(t, m.Recent())
	assert.Equal(t, []Datum{{}}, res.Data, "no RECENT stored: a NOOP that brings none")
	err = waitFails(t, m.Enable("CONDSTORE"))
	assert.Contains(t, err.Error(), "illegal in state SELECTED", "ENABLE only in AUTH")

	// UNSELECT through Xatom; CLOSE.
	res = waitOK(t, m.Xatom("UNSELECT"))
	assert.Contains(t, res.Data[0].Text, "Unselect completed")
	assert.Equal(t, AUTH, m.State(), "UNSELECT leaves the selected state")
	err = waitFails(t, m.Fetch("1", "FLAGS"))
	assert.Contains(t, err.Error(), "illegal in state AUTH")
	waitOK(t, m.Select("INBOX", false))
	res = waitOK(t, m.Close())
	assert.Contains(t, res.Data[0].Text, "Close completed")
	assert.Equal(t, AUTH, m.State())
	err = waitFails(t, m.Close())
	assert.Contains(t, err.Error(), "illegal in state AUTH")
	dovecotLogout(t, m)
}

// ---------------------------------------------------------------------------
// Extensions: NAMESPACE, ID, ENABLE, ACL, QUOTA, ANNOTATE, PROXYAUTH

func dovecotTestExtensions(t *testing.T, d *dovecotServer) {
	m, user, _ := dovecotLogin(t, d)

	res := waitOK(t, m.Namespace())
	assert.Equal(t, []string{`(("" "/")) NIL NIL`}, texts(res.Data))
	res = waitOK(t, m.ID())
	assert.Equal(t, []string{`("name" "Dovecot")`}, texts(res.Data))
	res = waitOK(t, m.ID("name", "imaplib2-go", "version", Version(), "vendor", ""))
	assert.Equal(t, []string{`("name" "Dovecot")`}, texts(res.Data))

	res = waitOK(t, m.Enable("CONDSTORE"))
	assert.Contains(t, res.Data[0].Text, "Enabled")
	assert.Equal(t, []string{"CONDSTORE"}, texts(m.Response("ENABLED").Data))
	if slices.Contains(m.Capabilities(), "UTF8=ACCEPT") {
		waitOK(t, m.Enable("UTF8=ACCEPT"))
		assert.Equal(t, []string{"UTF8=ACCEPT"}, texts(m.Response("ENABLED").Data))
	} else {
		t.Logf("Dovecot does not offer UTF8=ACCEPT: see TestDovecot/group/EnableUTF8AcceptNotOffered")
	}
	waitOK(t, m.Append("INBOX", "", time.Time{}, dovecotMessage("condstore", "x")))
	waitOK(t, m.Select("INBOX", false))
	assert.NotEqual(t, "", m.Response("HIGHESTMODSEQ").Data[0].Text, "CONDSTORE is on: SELECT reports HIGHESTMODSEQ")
	res = waitOK(t, m.Store("1", "+FLAGS", "$Seen2"))
	require.Len(t, res.Data, 1)
	assert.Contains(t, res.Data[0].Text, "MODSEQ (", "CONDSTORE is on: FETCH data carries MODSEQ")
	waitOK(t, m.Close())

	// ACL: grant bob rights, check them, take them back.
	waitOK(t, m.Create("shared"))
	res = waitOK(t, m.GetACL("shared"))
	assert.Equal(t, []string{"shared " + user + " lrwstipekxacd"}, texts(res.Data))
	res = waitOK(t, m.SetACL("shared", "bob", "lrs"))
	assert.Contains(t, res.Data[0].Text, "Setacl complete")
	res = waitOK(t, m.GetACL("shared"))
	require.Len(t, res.Data, 1)
	assert.Contains(t, res.Data[0].Text, " bob lrs", "GetACL shows bob's rights")
	assert.Contains(t, res.Data[0].Text, " "+user+" lrwstipekxacd")
	res = waitOK(t, m.MyRights("shared"))
	assert.Equal(t, []string{"shared lrwstipekxacd"}, texts(res.Data))
	waitOK(t, m.DeleteACL("shared", "bob"))
	res = waitOK(t, m.GetACL("shared"))
	assert.Equal(t, []string{"shared " + user + " lrwstipekxacd"}, texts(res.Data), "bob's rights are gone")
	res, err := waitResult(t, m.GetACL("no-such-mailbox"))
	require.NoError(t, err)
	assert.Equal(t, "NO", res.Type)

	// QUOTA: GETQUOTAROOT gives the QUOTAROOT data first, then the QUOTA data.
	res = waitOK(t, m.GetQuotaRoot("INBOX"))
	require.Len(t, res.Data, 2, "%v", texts(res.Data))
	assert.Equal(t, `INBOX "User quota"`, res.Data[0].Text)
	assert.Regexp(t, `^"User quota" \(STORAGE \d+ 1048576\)$`, res.Data[1].Text)
	res2 := waitOK(t, m.GetQuota("User quota"))
	assert.Equal(t, []string{res.Data[1].Text}, texts(res2.Data))
	res, err = waitResult(t, m.SetQuota("User quota", "(STORAGE 512)"))
	require.NoError(t, err, "Dovecot answers SETQUOTA with NO: a Result")
	assert.Equal(t, "NO", res.Type)
	assert.Contains(t, res.Data[0].Text, "Quota can be changed only by admin")

	// ANNOTATE is not in Dovecot: BAD, an ErrError; the connection goes on.
	err = waitFails(t, m.GetAnnotation("INBOX", "/comment", "value.priv"))
	assert.Contains(t, err.Error(), "GETANNOTATION: BAD")
	err = waitFails(t, m.SetAnnotation("INBOX", `(/comment (value.priv "hello"))`))
	assert.Contains(t, err.Error(), "SETANNOTATION: BAD")

	// PROXYAUTH is not in Dovecot either.
	err = waitFails(t, m.ProxyAuth("bob"))
	assert.Contains(t, err.Error(), "PROXYAUTH: BAD")
	assert.Equal(t, AUTH, m.State())
	waitOK(t, m.Noop())
	dovecotLogout(t, m)
}

// ---------------------------------------------------------------------------
// Pipelining

// dovecotTestThousandFetches appends 1,000 distinct messages, then issues
// 1,000 FETCH commands from 8 goroutines at once and checks every result in
// its OnDone callback against the message that was appended.
func dovecotTestThousandFetches(t *testing.T, d *dovecotServer) {
	const n, workers = 1000, 8
	m, _, _ := dovecotLogin(t, d)
	message := func(i int) []byte {
		return dovecotMessage(fmt.Sprintf("message %d", i), fmt.Sprintf("body of message %d\r\n%s", i, strings.Repeat("x", i%97)))
	}
	start := time.Now()
	var last *Command
	for i := 1; i <= n; i++ {
		last = m.Append("INBOX", "", time.Time{}, message(i))
	}
	waitOK(t, last)
	t.Logf("1,000 APPENDs: %v", time.Since(start))
	res := waitOK(t, m.Select("INBOX", false))
	require.Equal(t, []string{strconv.Itoa(n)}, texts(res.Data), "all 1,000 appends arrived")

	var (
		wg        sync.WaitGroup
		ok        atomic.Int32
		inside    atomic.Int32
		overlap   atomic.Bool
		callbacks sync.WaitGroup
	)
	callbacks.Add(n)
	start = time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w + 1; i <= n; i += workers {
				m.Fetch(strconv.Itoa(i), "(BODY.PEEK[])").OnDone(func(r Result, err error) {
					defer callbacks.Done()
					if inside.Add(1) > 1 {
						overlap.Store(true)
					}
					defer inside.Add(-1)
					want := message(i)
					if assert.NoError(t, err, "FETCH %d", i) &&
						assert.Equal(t, "OK", r.Type, "FETCH %d: %q", i, texts(r.Data)) &&
						assert.Equal(t, []string{fmt.Sprintf("%d (BODY[] {%d}", i, len(want)), ")"}, texts(r.Data), "FETCH %d", i) &&
						assert.Equal(t, want, r.Data[0].Literal, "FETCH %d: the body", i) {
						ok.Add(1)
					}
				})
			}
		}()
	}
	wg.Wait()
	done := make(chan struct{})
	go func() { callbacks.Wait(); close(done) }()
	if _, finished := within(done, waitLimit); !finished {
		t.Fatalf("only %d of %d callbacks ran within %v", ok.Load(), n, waitLimit)
	}
	elapsed := time.Since(start)
	t.Logf("1,000 pipelined FETCH commands from %d goroutines, checked in OnDone: %v (%.0f/s)", workers, elapsed, n/elapsed.Seconds())
	assert.EqualValues(t, n, ok.Load(), "every FETCH got exactly its own message")
	assert.False(t, overlap.Load(), "callbacks run one at a time")
	assert.Equal(t, []Datum{{}}, m.Response("FETCH").Data, "no FETCH data left over")
	dovecotLogout(t, m)
}

// ---------------------------------------------------------------------------
// IDLE

// dovecotTestIdleWoken: IDLE on connection A ends when connection B appends
// a message; A's Response("EXISTS") shows the new count. Also an IDLE that
// ends by its timeout.
func dovecotTestIdleWoken(t *testing.T, d *dovecotServer) {
	a, user, pass := dovecotLogin(t, d)
	b := dovecotNew(t, d, nil)
	waitOK(t, b.Login(user, pass))
	waitOK(t, b.Append("INBOX", "", time.Time{}, dovecotMessage("before", "x")))

	res := waitOK(t, a.Select("INBOX", false))
	require.Equal(t, []string{"1"}, texts(res.Data))
	a.PopUntaggedResponses()

	idle := a.Idle(30 * time.Second)
	waitIdling(t, a, idle)
	require.NotEmpty(t, idle.Tag())
	require.False(t, isDone(idle.Done()), "IDLE ended before anything happened")
	start := time.Now()
	waitOK(t, b.Append("INBOX", "", time.Time{}, dovecotMessage("wake up", "x")))
	appended := time.Now()
	receive(t, idle.Done(), "IDLE to be woken by the APPEND on another connection")
	woken := time.Since(appended)
	res = waitOK(t, idle)
	assert.Contains(t, res.Data[0].Text, "Idle completed")
	t.Logf("IDLE wake latency: %v after the APPEND completed (%v after it was issued)", woken, time.Since(start))
	assert.Less(t, woken, 5*time.Second, "IDLE must end well before its 30s timeout")
	assert.Equal(t, []string{"2"}, texts(a.Response("EXISTS").Data))
	assert.Equal(t, []Datum{{}}, a.Response("IDLE").Data, "not a timeout")

	// An IDLE that times out.
	start = time.Now()
	res = waitOK(t, a.Idle(time.Second))
	assert.Contains(t, res.Data[0].Text, "Idle completed")
	assert.GreaterOrEqual(t, time.Since(start), time.Second)
	assert.Equal(t, []string{"TIMEOUT"}, texts(a.Response("IDLE").Data))

	dovecotLogout(t, a)
	dovecotLogout(t, b)
}

// dovecotTestIdleEndedByCommand: a command issued on the idling connection
// ends the IDLE (DONE goes first) and then runs at once; Shutdown during
// IDLE aborts it.
func dovecotTestIdleEndedByCommand(t *testing.T, d *dovecotServer) {
	m, _, _ := dovecotLogin(t, d)
	waitOK(t, m.Append("INBOX", "", time.Time{}, dovecotMessage("one", "x")))
	waitOK(t, m.Select("INBOX", false))
	for _, next := range []func() *Command{m.Noop, func() *Command { return m.Fetch("1", "(UID)") }} {
		idle := m.Idle(30 * time.Second)
		waitIdling(t, m, idle)
		start := time.Now()
		cmd := next()
		res := waitOK(t, cmd)
		elapsed := time.Since(start)
		require.True(t, isDone(idle.Done()), "the command completed before the IDLE it ended")
		idleRes := waitOK(t, idle)
		assert.Contains(t, idleRes.Data[0].Text, "Idle completed")
		assert.Less(t, elapsed, 5*time.Second)
		t.Logf("%s during IDLE completed after %v", cmd.name, elapsed)
		if cmd.name == "FETCH" {
			assert.Equal(t, []string{"1 (UID 1)"}, texts(res.Data))
		}
	}

	// Shutdown while idling: the IDLE aborts; no LOGOUT is sent.
	idle := m.Idle(30 * time.Second)
	waitIdling(t, m, idle)
	require.NoError(t, m.Shutdown())
	_, err := waitResult(t, idle)
	assert.ErrorIs(t, err, ErrAbort, "IDLE after Shutdown")
	_, err = waitResult(t, m.Noop())
	assert.ErrorIs(t, err, ErrAbort, "NOOP after Shutdown")
	assert.Equal(t, LOGOUT, m.State())
	waitStopped(t, m)
	require.NoError(t, m.Shutdown(), "Shutdown is idempotent")
}

// ---------------------------------------------------------------------------
// Transports

// dovecotTestStartTLSCompress: STARTTLS, LOGIN, COMPRESS=DEFLATE, then a
// 5 MB APPEND and FETCH, and a 1 MB literal of one repeated byte.
func dovecotTestStartTLSCompress(t *testing.T, d *dovecotServer) {
	user, pass := d.newUser(t)
	m := dovecotNew(t, d, nil)
	require.Contains(t, m.Capabilities(), "STARTTLS")
	res := waitOK(t, m.StartTLS(&tls.Config{RootCAs: d.CAPool, ServerName: "localhost"}))
	assert.Contains(t, res.Data[0].Text, "Begin TLS negotiation now")
	assert.NotContains(t, m.Capabilities(), "STARTTLS", "capabilities learned again over TLS")
	assert.Contains(t, m.Capabilities(), "AUTH=PLAIN")
	err := waitAborts(t, m.StartTLS(&tls.Config{RootCAs: d.CAPool, ServerName: "localhost"})) // imaplib2: abort, nothing sent
	t.Logf("second STARTTLS: %v", err)

	waitOK(t, m.Login(user, pass))
	require.Contains(t, m.Capabilities(), "COMPRESS=DEFLATE")
	require.NoError(t, m.EnableCompression())
	err = m.EnableCompression()
	require.ErrorIs(t, err, ErrError)
	assert.Contains(t, err.Error(), "compression already active")

	// 5 MB of base64 text, 76 characters a line.
	raw := make([]byte, 5<<20*3/4)
	_, err = rand.Read(raw)
	require.NoError(t, err)
	enc := base64.StdEncoding.EncodeToString(raw)
	var body strings.Builder
	for len(enc) > 0 {
		k := min(76, len(enc))
		body.WriteString(enc[:k] + "\r\n")
		enc = enc[k:]
	}
	big := dovecotMessage("five megabytes", body.String())
	start := time.Now()
	waitOK(t, m.Append("INBOX", "", time.Time{}, big))
	res = waitOK(t, m.Select("INBOX", false))
	assert.Equal(t, []string{"1"}, texts(res.Data))
	res = waitOK(t, m.Fetch("1", "(BODY.PEEK[])"))
	got := dovecotFetched(t, res.Data)
	require.Len(t, got, 1)
	assert.True(t, bytes.Equal(big, got[0].literal), "5 MB round trip under TLS+COMPRESS: %d bytes sent, %d back", len(big), len(got[0].literal))
	t.Logf("5 MB APPEND+FETCH over STARTTLS+COMPRESS: %v", time.Since(start))

	// imaplib2 bug B7: a long run of one byte compresses to almost nothing.
	same := append([]byte("Subject: repeated\r\n\r\n"), bytes.Repeat([]byte{'z'}, 1<<20)...)
	start = time.Now()
	waitOK(t, m.Append("INBOX", "", time.Time{}, same))
	res = waitOK(t, m.Fetch("2", "(BODY.PEEK[])"))
	got = dovecotFetched(t, res.Data)
	require.Len(t, got, 1)
	assert.True(t, bytes.Equal(same, got[0].literal), "1 MB of one byte round trip under COMPRESS: got %d bytes", len(got[0].literal))
	t.Logf("1 MB repeated-byte APPEND+FETCH under COMPRESS: %v", time.Since(start))
	res = waitOK(t, m.Search("", "SUBJECT", "repeated"))
	assert.Equal(t, []string{"2"}, texts(res.Data))
	dovecotLogout(t, m)
}

// dovecotTestNewSSL: implicit TLS with the right CA, with a wrong server
// name, and against the system roots.
func dovecotTestNewSSL(t *testing.T, d *dovecotServer) {
	user, pass := d.newUser(t)
	m, err := NewSSL(d.Host, &Options{Port: d.TLSPort, Timeout: time.Minute, TLSConfig: &tls.Config{RootCAs: d.CAPool, ServerName: "localhost"}})
	require.NoError(t, err)
	t.Cleanup(func() { m.Shutdown() })
	assert.True(t, strings.HasPrefix(m.Welcome(), "* OK [CAPABILITY "), m.Welcome())
	assert.NotContains(t, m.Capabilities(), "STARTTLS", "no STARTTLS over TLS")
	err = waitAborts(t, m.StartTLS(nil)) // imaplib2: abort, nothing sent
	t.Logf("STARTTLS over implicit TLS: %v", err)
	waitOK(t, m.Login(user, pass))
	res := waitOK(t, m.Status("INBOX", "(MESSAGES)"))
	assert.Equal(t, []string{"INBOX (MESSAGES 0)"}, texts(res.Data))
	dovecotLogout(t, m)

	// A certificate for localhost, checked against another name.
	_, err = NewSSL(d.Host, &Options{Port: d.TLSPort, Timeout: time.Minute, TLSConfig: &tls.Config{RootCAs: d.CAPool, ServerName: "wrong.example"}})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrAbort)
	assert.Contains(t, err.Error(), "certificate")
	var hostErr x509.HostnameError
	assert.ErrorAs(t, err, &hostErr, "the cause is wrapped: %v", err)
	t.Logf("wrong server name: %v", err)

	// No TLSConfig: the system roots, which do not know the test CA.
	_, err = NewSSL(d.Host, &Options{Port: d.TLSPort, Timeout: time.Minute})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrAbort)
	assert.Contains(t, err.Error(), "certificate")
	var authErr x509.UnknownAuthorityError
	assert.ErrorAs(t, err, &authErr, "verified against the system roots: %v", err)
	t.Logf("system roots: %v", err)

	// STARTTLS against the system roots fails and ends the connection:
	// it never goes on in plaintext.
	p := dovecotNew(t, d, nil)
	_, err = waitResult(t, p.StartTLS(nil))
	require.ErrorIs(t, err, ErrAbort)
	assert.Contains(t, err.Error(), "certificate")
	_, err = waitResult(t, p.Login(user, pass))
	assert.ErrorIs(t, err, ErrAbort, "no LOGIN after a failed STARTTLS")
	waitStopped(t, p)
}

// dovecotTestStream: NewStream runs Dovecot's imap binary preauthenticated;
// Logout reaps it.
func dovecotTestStream(t *testing.T, d *dovecotServer) {
	user, pass := d.newUser(t)
	var log bytes.Buffer
	var logMu sync.Mutex
	m, err := NewStream(d.streamCommand(user), &Options{Timeout: time.Minute, Debug: 1, DebugWriter: lockedWriter{&logMu, &log}})
	require.NoError(t, err)
	t.Cleanup(func() { m.Shutdown() })
	assert.Equal(t, AUTH, m.State(), "PREAUTH")
	assert.True(t, strings.HasPrefix(m.Welcome(), "* PREAUTH [CAPABILITY "), m.Welcome())
	assert.Contains(t, m.Welcome(), "Logged in as "+user)
	assert.Contains(t, m.Capabilities(), "ACL")

	waitOK(t, m.Create("streamed"))
	waitOK(t, m.Append("streamed", `\Seen`, time.Time{}, dovecotMessage("over a pipe", "stdin and stdout")))
	res := waitOK(t, m.Select("streamed", true))
	assert.Equal(t, []string{"1"}, texts(res.Data))
	res = waitOK(t, m.Fetch("1", "(FLAGS BODY.PEEK[TEXT])"))
	got := dovecotFetched(t, res.Data)
	require.Len(t, got, 1)
	assert.Equal(t, "stdin and stdout\r\n", string(got[0].literal))
	assert.Equal(t, []string{`\Seen`}, withoutRecent(ParseFlags([]byte(got[0].head))))

	proc := m.transport.(*process)
	dovecotLogout(t, m)
	assert.NotNil(t, proc.cmd.ProcessState, "Logout reaped the process")
	assert.True(t, proc.cmd.ProcessState.Exited(), "%v", proc.cmd.ProcessState)
	logMu.Lock()
	assert.Contains(t, log.String(), "opening stream from command")
	logMu.Unlock()

	// The daemon sees what the stream did: it is the same mail store.
	n := dovecotNew(t, d, nil)
	waitOK(t, n.Login(user, pass))
	res = waitOK(t, n.Status("streamed", "(MESSAGES)"))
	assert.Equal(t, []string{"streamed (MESSAGES 1)"}, texts(res.Data))
	dovecotLogout(t, n)
}

// lockedWriter serialises writes to a buffer that the test reads.
type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// ---------------------------------------------------------------------------
// Concurrency

// dovecotTestConcurrency: 16 goroutines issue 50 mixed commands each
// (FETCH, SEARCH, NOOP, STATUS, STORE on their own message, UID FETCH) on
// one connection; every result is checked.
func dovecotTestConcurrency(t *testing.T, d *dovecotServer) {
	dovecotConcurrency(t, d, []string{"FETCH", "SEARCH", "NOOP", "STATUS", "STORE", "UID FETCH"}, 16, 50, time.Minute)
}

// dovecotTestStress: 64 goroutines issue mixed commands, IDLE among them
// (ended by the others' commands), for a bounded time on one connection.
func dovecotTestStress(t *testing.T, d *dovecotServer) {
	dovecotConcurrency(t, d, []string{"FETCH", "SEARCH", "NOOP", "STATUS", "STORE", "UID FETCH", "IDLE"}, 64, 1000, 3*time.Second)
}

// dovecotConcurrency runs workers goroutines × rounds commands (or fewer,
// once limit has passed) of the given kinds, in turn, on one connection,
// and checks every result.
func dovecotConcurrency(t *testing.T, d *dovecotServer, kinds []string, workers, rounds int, limit time.Duration) {
	m, _, _ := dovecotLogin(t, d)
	message := func(w int) []byte {
		return dovecotMessage(fmt.Sprintf("token-w%02d-x", w), fmt.Sprintf("worker %d's message", w))
	}
	for w := 1; w <= workers; w++ {
		waitOK(t, m.Append("INBOX", "", time.Time{}, message(w)))
	}
	waitOK(t, m.Select("INBOX", false))

	var wg sync.WaitGroup
	var commands, failures atomic.Int32
	start := time.Now()
	for w := 1; w <= workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			num := strconv.Itoa(w)
			flagged := false
			count := func(passed bool) bool {
				if !passed {
					failures.Add(1)
				}
				return passed
			}
			for i := 0; i < rounds && time.Since(start) < limit; i++ {
				commands.Add(1)
				kind := kinds[(i+w)%len(kinds)]
				what := fmt.Sprintf("worker %d, round %d, %s", w, i, kind)
				check := func(c *Command) (Result, bool) {
					res, err := waitResult(t, c)
					return res, count(assert.NoError(t, err, what) && assert.Equal(t, "OK", res.Type, "%s: %q", what, texts(res.Data)))
				}
				switch kind {
				case "FETCH":
					if res, ok := check(m.Fetch(num, "(BODY.PEEK[])")); ok {
						count(assert.Len(t, res.Data, 2, what) &&
							assert.Equal(t, fmt.Sprintf("%s (BODY[] {%d}", num, len(message(w))), res.Data[0].Text, what) &&
							assert.Equal(t, message(w), res.Data[0].Literal, what))
					}
				case "UID FETCH":
					if res, ok := check(m.UID("FETCH", num, "(UID RFC822.SIZE)")); ok {
						count(assert.Equal(t, []string{fmt.Sprintf("%s (UID %s RFC822.SIZE %d)", num, num, len(message(w)))}, texts(res.Data), what))
					}
				case "SEARCH":
					if res, ok := check(m.Search("", "SUBJECT", fmt.Sprintf("token-w%02d-x", w))); ok {
						count(assert.Equal(t, []string{num}, texts(res.Data), what))
					}
				case "IDLE": // ended by another worker's command, or after a second
					if res, ok := check(m.Idle(time.Second)); ok {
						count(assert.Contains(t, res.Data[0].Text, "Idle completed", what))
					}
				case "NOOP":
					if res, ok := check(m.Noop()); ok {
						count(assert.Contains(t, res.Data[0].Text, "NOOP completed", what))
					}
				case "STATUS":
					if res, ok := check(m.Status("INBOX", "(MESSAGES)")); ok {
						count(assert.Equal(t, []string{fmt.Sprintf("INBOX (MESSAGES %d)", workers)}, texts(res.Data), what))
					}
				case "STORE":
					op := "+FLAGS"
					if flagged {
						op = "-FLAGS"
					}
					res, ok := check(m.Store(num, op, `\Flagged`))
					if !ok {
						break
					}
					flagged = !flagged
					count(assert.Len(t, res.Data, 1, what) &&
						assert.True(t, strings.HasPrefix(res.Data[0].Text, num+" (FLAGS ("), "%s: %q", what, res.Data[0].Text) &&
						assert.Equal(t, flagged, slices.Contains(ParseFlags([]byte(res.Data[0].Text)), `\Flagged`), "%s %s: flags %q", what, op, res.Data[0].Text))
				default:
					panic(kind)
				}
			}
			if flagged { // leave the message as it was
				waitOK(t, m.Store(num, "-FLAGS.SILENT", `\Flagged`))
			}
		}()
	}
	wg.Wait()
	t.Logf("%d mixed commands (%s) from %d goroutines: %v, %d wrong", commands.Load(), strings.Join(kinds, ", "), workers, time.Since(start), failures.Load())
	res := waitOK(t, m.Search("", "FLAGGED"))
	assert.Equal(t, []string{""}, texts(res.Data), "every worker left its message unflagged")
	dovecotLogout(t, m)
}

// ---------------------------------------------------------------------------
// Regressions: library bugs this suite found against Dovecot (all fixed).

// dovecotTestNonASCIIMailbox: a non-ASCII mailbox name round-trips through
// CREATE and LIST. The library once sent it as a raw UTF-8 literal, which
// Dovecot 2.3 (no UTF8=ACCEPT) refuses: "NO Mailbox name is not valid
// mUTF-7". It must go in modified UTF-7 (RFC 3501 §5.1.3).
func dovecotTestNonASCIIMailbox(t *testing.T, d *dovecotServer) {
	m, _, _ := dovecotLogin(t, d)
	before := dovecotList(t, waitOK(t, m.List(`""`, "*")).Data)
	res, err := waitResult(t, m.Create("Entwürfe"))
	require.NoError(t, err)
	require.Equal(t, "OK", res.Type, "CREATE Entwürfe: %s %q", res.Type, texts(res.Data))
	after := dovecotList(t, waitOK(t, m.List(`""`, "*")).Data)
	assert.Len(t, after, len(before)+1, "LIST shows one new mailbox: %v", after)
	assert.Contains(t, after, "Entw&APw-rfe", "Dovecot lists the name in modified UTF-7")
	waitOK(t, m.Append("Entwürfe", "", time.Time{}, dovecotMessage("umlaut", "x")))
	res = waitOK(t, m.Status("Entwürfe", "(MESSAGES)"))
	assert.Equal(t, []string{"Entw&APw-rfe (MESSAGES 1)"}, texts(res.Data))
	res = waitOK(t, m.Select("Entwürfe", false))
	assert.Equal(t, []string{"1"}, texts(res.Data))
	waitOK(t, m.Close())
	waitOK(t, m.Rename("Entwürfe", "Brouillons d'été"))
	after = dovecotList(t, waitOK(t, m.List(`""`, "*")).Data)
	assert.Contains(t, after, "Brouillons d'&AOk-t&AOk-", "%v", after)
	waitOK(t, m.Delete("Brouillons d'été"))
	assert.Equal(t, before, dovecotList(t, waitOK(t, m.List(`""`, "*")).Data))
	dovecotLogout(t, m)
}

// dovecotTestEnableUTF8NotOffered: ENABLE UTF8=ACCEPT answered OK without
// "* ENABLED UTF8=ACCEPT" (RFC 5161: nothing was enabled) must leave the
// library out of UTF-8 mode. It once switched anyway: the next APPEND went
// out as "APPEND INBOX UTF8 (~{N+}", Dovecot answered BAD "Missing ')'"
// and then read the lines of the message as commands ("* BAD Error in IMAP
// tag").
func dovecotTestEnableUTF8NotOffered(t *testing.T, d *dovecotServer) {
	m, _, _ := dovecotLogin(t, d)
	require.NotContains(t, m.Capabilities(), "UTF8=ACCEPT", "this test is for servers without UTF8=ACCEPT")
	waitOK(t, m.Enable("UTF8=ACCEPT"))
	assert.Equal(t, []Datum{{}}, m.Response("ENABLED").Data, "Dovecot enabled nothing")
	res, err := waitResult(t, m.Append("INBOX", "", time.Time{}, dovecotMessage("after ENABLE", "Subject line as a command?")))
	require.NoError(t, err, "APPEND after an ENABLE UTF8=ACCEPT that enabled nothing")
	assert.Equal(t, "OK", res.Type)
	waitOK(t, m.Create("Grüße"))
	waitOK(t, m.Select("INBOX", false))
	res, err = waitResult(t, m.Search("UTF-8", "SUBJECT", "after"))
	require.NoError(t, err, "SEARCH CHARSET is refused only in UTF-8 mode")
	assert.Equal(t, []string{"1"}, texts(res.Data))
	assert.Empty(t, m.Response("BAD").Data[0].Text, "no untagged BAD: the server never lost track of the command stream")
	dovecotLogout(t, m)
}

// dovecotTestPipelinedSearches: two SEARCH commands in flight at once each
// get their own result. Untagged SEARCH responses carry no tag, and
// Dovecot runs pipelined SEARCHes in parallel:
//
//	A5 SEARCH SUBJECT alpha
//	A6 SEARCH SUBJECT beta
//	* SEARCH 1
//	* SEARCH 2
//	A5 OK Search completed
//	A6 OK Search completed
//
// The library once gave A5 both lines ("1", "2") and A6 nothing (""), in
// 44 of 50 pairs.
func dovecotTestPipelinedSearches(t *testing.T, d *dovecotServer) {
	m, _, _ := dovecotLogin(t, d)
	waitOK(t, m.Append("INBOX", "", time.Time{}, dovecotMessage("alpha", "x")))
	waitOK(t, m.Append("INBOX", "", time.Time{}, dovecotMessage("beta", "x")))
	waitOK(t, m.Select("INBOX", false))
	wrong := 0
	for i := 0; i < 50; i++ {
		a := m.Search("", "SUBJECT", "alpha")
		b := m.Search("", "SUBJECT", "beta")
		c := m.UID("SEARCH", "SUBJECT", "beta")
		s := m.Sort("ARRIVAL", "", "ALL")
		got := [][]string{texts(waitOK(t, a).Data), texts(waitOK(t, b).Data), texts(waitOK(t, c).Data), texts(waitOK(t, s).Data)}
		want := [][]string{{"1"}, {"2"}, {"2"}, {"1 2"}}
		if !assert.ObjectsAreEqual(want, got) {
			if wrong++; wrong == 1 { // the first round that goes wrong, in detail
				assert.Equal(t, want, got, "pipelined SEARCH alpha, SEARCH beta, UID SEARCH beta, SORT")
			}
		}
	}
	assert.Zero(t, wrong, "rounds of pipelined SEARCH/SORT commands with mixed-up results, of 50")
	dovecotLogout(t, m)
}
