package imaplib2

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Real Dovecot sessions, recorded as transcripts (the format of
// transcript_test.go) in testdata/dovecot/*.txt and replayed without
// Dovecot:
//
//	go test -tags record -run TestDovecotRecord -v . -args -record   # re-record (needs Dovecot)
//	go test -run TestDovecotTranscripts -v .                          # replay (needs nothing)
//
// The replay is part of the default test binary; the recorder
// (TestDovecotRecord and the wire recorder, in recorder_test.go) builds
// only with the record tag.
//
// Each session in dovecotSessions is a function that issues commands and
// checks their results. Recording runs it against Dovecot through a
// net.Conn that captures both directions; replaying runs the very same
// function against a scriptServer playing the transcript, which checks
// every byte the library sends. The client's tags become $1, $2, ...; the
// sessions log in with the password "secret-password", so the transcripts
// hold no real secret and replay as they are.

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
			waitOK(t, m.Append("INBOX", `(\Seen $Important)`, recDate1, recMsg1))
		},
		run: func(t *testing.T, m *IMAP4, _ func()) {
			waitOK(t, m.Login("rec-fetch", dovecotRecordPassword))
			assert.Contains(t, m.Capabilities(), "IDLE")
			res := waitOK(t, m.Select("INBOX", true))
			assert.Equal(t, []string{"1"}, texts(res.Data))
			assert.Regexp(t, `^\d+$`, m.Response("UIDVALIDITY").Data[0].Text)
			res = waitOK(t, m.Fetch("1", "(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])"))
			require.Len(t, res.Data, 2)
			assert.Equal(t, fmt.Sprintf("BODY[] {%d}", len(recMsg1)), res.Data[0].Text[strings.LastIndex(res.Data[0].Text, " BODY[]")+1:])
			assert.Equal(t, string(recMsg1), string(res.Data[0].Literal))
			assert.Equal(t, ")", res.Data[1].Text)
			when, err := Internaldate2Time([]byte(res.Data[0].Text))
			require.NoError(t, err)
			assert.True(t, when.Equal(recDate1), "INTERNALDATE %v, appended with %v", when, recDate1)
			assert.ElementsMatch(t, []string{`\Seen`, "$Important"}, withoutRecent(ParseFlags([]byte(res.Data[0].Text))))
			res = waitOK(t, m.Fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT MESSAGE-ID)])"))
			require.Len(t, res.Data, 2)
			assert.Equal(t, "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=\r\nMessage-ID: <rec1@example.org>\r\n\r\n", string(res.Data[0].Literal))
			dovecotLogout(t, m)
		},
	},
	"append_search": {
		user: "rec-append",
		run: func(t *testing.T, m *IMAP4, _ func()) {
			waitOK(t, m.Login("rec-append", dovecotRecordPassword))
			waitOK(t, m.Create("Archive"))
			a1 := m.Append("INBOX", `\Flagged`, recDate1, recMsg1)
			a2 := m.Append("INBOX", "", recDate2, recMsg2)
			waitOK(t, a1)
			waitOK(t, a2)
			uids := texts(m.Response("APPENDUID").Data)
			require.Len(t, uids, 2)
			assert.True(t, strings.HasSuffix(uids[0], " 1") && strings.HasSuffix(uids[1], " 2"), "%q", uids)
			res := waitOK(t, m.Select("INBOX", false))
			assert.Equal(t, []string{"2"}, texts(res.Data))
			res = waitOK(t, m.Search("", "SUBJECT", "two words"))
			assert.Equal(t, []string{"2"}, texts(res.Data))
			res = waitOK(t, m.Search("UTF-8", "SUBJECT", "Köln"))
			assert.Equal(t, []string{"1"}, texts(res.Data), "a non-ASCII criterion goes as a literal")
			res = waitOK(t, m.UID("SEARCH", "FLAGGED"))
			assert.Equal(t, []string{"1"}, texts(res.Data))
			res = waitOK(t, m.Sort("REVERSE ARRIVAL", "UTF-8", "ALL"))
			assert.Equal(t, []string{"2 1"}, texts(res.Data))
			res = waitOK(t, m.Store("2", "+FLAGS", `(\Seen $Done)`))
			require.Len(t, res.Data, 1)
			assert.ElementsMatch(t, []string{`\Seen`, "$Done"}, withoutRecent(ParseFlags([]byte(res.Data[0].Text))))
			waitOK(t, m.Copy("1:2", "Archive"))
			assert.Regexp(t, `^\d+ 1:2 1:2$`, m.Response("COPYUID").Data[0].Text)
			res = waitOK(t, m.Status("Archive", "(MESSAGES UNSEEN)"))
			assert.Equal(t, []string{"Archive (MESSAGES 2 UNSEEN 1)"}, texts(res.Data))
			waitOK(t, m.Store("1", "+FLAGS.SILENT", `\Deleted`))
			res = waitOK(t, m.Expunge())
			assert.Equal(t, []string{"1"}, texts(res.Data))
			waitOK(t, m.Close())
			dovecotLogout(t, m)
		},
	},
	"idle": {
		user: "rec-idle",
		run: func(t *testing.T, m *IMAP4, wake func()) {
			waitOK(t, m.Login("rec-idle", dovecotRecordPassword))
			res := waitOK(t, m.Select("INBOX", false))
			assert.Equal(t, []string{"0"}, texts(res.Data))
			idle := m.Idle(30 * time.Second)
			waitIdling(t, m, idle)
			if wake != nil {
				wake()
			}
			res = waitOK(t, idle)
			assert.Contains(t, res.Data[0].Text, "Idle completed")
			assert.Equal(t, []string{"1"}, texts(m.Response("EXISTS").Data), "woken by the new message")
			res = waitOK(t, m.Fetch("1", "(ENVELOPE)"))
			assert.Contains(t, res.Data[0].Text, `"two words"`)
			dovecotLogout(t, m)
		},
	},
	"authenticate_cram_md5": {
		user: "rec-cram",
		run: func(t *testing.T, m *IMAP4, _ func()) {
			waitOK(t, m.LoginCramMD5("rec-cram", dovecotRecordPassword))
			assert.Equal(t, AUTH, m.State())
			res := waitOK(t, m.ID("name", "imaplib2-go"))
			assert.Equal(t, []string{`("name" "Dovecot")`}, texts(res.Data))
			dovecotLogout(t, m)
		},
	},
	"pipelined_mailboxes": {
		user: "rec-boxes",
		run: func(t *testing.T, m *IMAP4, _ func()) {
			waitOK(t, m.Login("rec-boxes", dovecotRecordPassword))
			waitOK(t, m.Create("projects"))
			waitOK(t, m.Create("projects/2024"))
			waitOK(t, m.Create("two words"))
			// Issued together: pipelined on the wire.
			list := m.List(`""`, "*")
			status := m.Status("two words", "(MESSAGES UIDNEXT)")
			acl := m.GetACL("projects")
			quota := m.GetQuotaRoot("INBOX")
			ns := m.Namespace()
			assert.ElementsMatch(t, []string{`(\HasNoChildren) "/" INBOX`, `(\HasChildren) "/" projects`,
				`(\HasNoChildren) "/" projects/2024`, `(\HasNoChildren) "/" "two words"`}, texts(waitOK(t, list).Data))
			assert.Equal(t, []string{`"two words" (MESSAGES 0 UIDNEXT 1)`}, texts(waitOK(t, status).Data))
			assert.Equal(t, []string{"projects rec-boxes lrwstipekxacd"}, texts(waitOK(t, acl).Data))
			q := texts(waitOK(t, quota).Data)
			require.Len(t, q, 2)
			assert.Equal(t, `INBOX "User quota"`, q[0])
			assert.Equal(t, []string{`(("" "/")) NIL NIL`}, texts(waitOK(t, ns).Data))
			waitOK(t, m.SetACL("projects", "bob", "lr"))
			assert.Contains(t, waitOK(t, m.GetACL("projects")).Data[0].Text, " bob lr")
			waitOK(t, m.Rename("two words", "three words"))
			waitOK(t, m.Delete("three words"))
			dovecotLogout(t, m)
		},
	},
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
		assert.Contains(t, dovecotSessions, name, "%s has no session in dovecotSessions (record_test.go)", f)
	}
	for name := range dovecotSessions {
		assert.Contains(t, names, name, "session %q has no transcript: run go test -tags record -run TestDovecotRecord -v . -args -record", name)
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
