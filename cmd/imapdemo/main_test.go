package main

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imaplib2go/imaplib2"
)

// TestTour runs the whole tour against the in-process server, with and
// without the simulated round-trip time, and checks its story.
func TestTour(t *testing.T) {
	for _, rtt := range []time.Duration{0, time.Millisecond} {
		t.Run(rtt.String(), func(t *testing.T) {
			var out bytes.Buffer
			tr := &tour{out: &out, rtt: rtt, opts: imaplib2.Options{Timeout: time.Minute}}
			require.NoError(t, tr.run(""), out.String())
			story := out.String()
			t.Log("\n" + story)
			for _, want := range []string{
				`(?m)^connect   IMAP4REV1, state NONAUTH, greeting "\* OK \[CAPABILITY IMAP4rev1 `,
				`(?m)^LOGIN     OK .*state AUTH`,
				`(?m)^APPEND    200 messages issued at once`,
				`(?m)^LIST      2 mailboxes \(typed: Result.Mailboxes\): Archive \[\]; INBOX \[\] `,
				`(?m)^SELECT    INBOX: 200 messages, UIDVALIDITY 1, state SELECTED \(typed: Selected\)`,
				`(?m)^SEARCH    ALL matched 200 messages`,
				`(?m)^FETCH     ENVELOPE and BODYSTRUCTURE of the newest 3 messages`,
				`(?m)^ +UID 198 "message 198" from imapdemo <demo@example.org>: \[1\] text/plain$`,
				`(?m)^ +UID 199 "Grüße aus Berlin" from Jürgen <juergen@example.org>: \[\] multipart/mixed, \[1\] text/plain, \[2\] application/pdf report.pdf$`,
				`(?m)^ +UID 200 "message 200" from imapdemo <demo@example.org>: \[1\] text/plain$`,
				`(?m)^FETCH     200 x FETCH n \(BODY.PEEK\[\]\) in parallel: 200 OnDone callbacks`,
				`(?m)^FETCH     the same 200 one at a time`,
				`(?m)^ +pipelining speed-up: [0-9.]+x`,
				`(?m)^IDLE      woken by "\* 201 EXISTS" after a second connection's APPEND`,
				`(?m)^STORE     \+FLAGS \(\\Deleted\) on 2,4,6: 3 FETCH responses`,
				`(?m)^EXPUNGE   expunged message numbers, in the order the server sent them: 6 4 2 `,
				`(?m)^LOGOUT    BYE Logging out, state LOGOUT`,
			} {
				assert.Regexp(t, regexp.MustCompile(want), story)
			}
			assert.Equal(t, 20, strings.Count(story, "\n"), "a header line and 19 lines of story")
		})
	}
}

// TestTourReadOnly runs the read-only tour meant for real servers against
// the in-process server, filled by the first steps of the full tour.
func TestTourReadOnly(t *testing.T) {
	filler := &tour{out: io.Discard, opts: imaplib2.Options{Timeout: time.Minute}}
	stop, err := filler.startMemServer()
	require.NoError(t, err)
	defer stop()
	for _, step := range []func() error{filler.connect, filler.login, filler.fill, filler.logout} {
		require.NoError(t, step())
	}

	var out bytes.Buffer
	t.Setenv("IMAPDEMO_PASSWORD", filler.pass)
	tr := &tour{out: &out, user: filler.user, idleFor: 100 * time.Millisecond, opts: imaplib2.Options{Timeout: time.Minute}}
	require.NoError(t, tr.run(fmt.Sprintf("%s:%d", filler.host, filler.opts.Port)), out.String())
	story := out.String()
	t.Log("\n" + story)
	for _, want := range []string{
		`(?m)^EXAMINE   INBOX: 200 messages, `,
		`(?m)^FETCH     20 x FETCH n \(RFC822.SIZE BODY.PEEK\[HEADER.FIELDS \(SUBJECT\)\]\) in parallel`,
		`(?m)^ +newest: Subject: message 200$`,
		`(?m)^IDLE      ended by its 100ms timeout: nothing changed`,
		`(?m)^LOGOUT    BYE`,
	} {
		assert.Regexp(t, regexp.MustCompile(want), story)
	}
	assert.NotContains(t, story, "APPEND")
	assert.NotContains(t, story, "STORE")
}

func TestRealServerFlags(t *testing.T) {
	t.Setenv("IMAPDEMO_PASSWORD", "secret")
	tr := &tour{}
	assert.EqualError(t, tr.useRealServer("example.org:imap"), `bad port in -addr "example.org:imap"`)
	tr = &tour{}
	assert.EqualError(t, tr.useRealServer("example.org"), "-addr needs -user")
	tr = &tour{user: "me"}
	require.NoError(t, tr.useRealServer("example.org"))
	assert.Equal(t, "example.org", tr.host)
	assert.Equal(t, 0, tr.opts.Port)
	assert.Equal(t, "secret", tr.pass)
	assert.True(t, tr.readOnly)
}
