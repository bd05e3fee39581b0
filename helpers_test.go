package imaplib2

import (
	"bytes"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInt2AP(t *testing.T) {
	tests := []struct {
		num  int
		want string
	}{
		{0, ""},
		{1, "B"},
		{15, "P"},
		{16, "BA"},
		{4096, "BAAA"},
		{65535, "PPPP"},
		{12345, "DADJ"},
		{-17, "BB"},
		{math.MaxInt64, "HPPPPPPPPPPPPPPP"},
		{math.MinInt64, "IAAAAAAAAAAAAAAA"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Int2AP(tt.num), "Int2AP(%d)", tt.num)
	}
}

func TestMonthNames(t *testing.T) {
	assert.Equal(t, [13]string{"", "Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}, MonthNames)
	for i := 1; i <= 12; i++ {
		assert.Equal(t, time.Month(i).String()[:3], MonthNames[i])
	}
}

func TestMon2num(t *testing.T) {
	tests := []struct {
		mon  string
		want int
		ok   bool
	}{
		{"Jan", 1, true},
		{"Feb", 2, true},
		{"Sep", 9, true},
		{"Dec", 12, true},
		{"jan", 1, true}, // RFC 3501: date-month is case-insensitive
		{"JAN", 1, true},
		{"dEC", 12, true},
		{"Foo", 0, false},
		{"", 0, false},
		{"Ja", 0, false},
		{"Janu", 0, false},
		{"January", 0, false},
		{"ſep", 0, false}, // U+017F folds to "s" in Unicode, not in ASCII
	}
	for _, tt := range tests {
		got, ok := Mon2num(tt.mon)
		assert.Equal(t, tt.want, got, "Mon2num(%q)", tt.mon)
		assert.Equal(t, tt.ok, ok, "Mon2num(%q)", tt.mon)
	}
}

func TestTime2Internaldate(t *testing.T) {
	ist := time.FixedZone("IST", 5*3600+30*60)
	pdt := time.FixedZone("PDT", -7*3600)
	nfld := time.FixedZone("NDT", -(2*3600 + 30*60))
	lmt := time.FixedZone("LMT", 19*60+32) // Amsterdam before 1937: +00:19:32
	tests := []struct {
		name string
		t    time.Time
		want string
	}{
		{"UTC", time.Date(2000, 1, 2, 3, 4, 5, 0, time.UTC), `"02-Jan-2000 03:04:05 +0000"`},
		{"+0530", time.Date(2024, 12, 31, 23, 59, 59, 0, ist), `"31-Dec-2024 23:59:59 +0530"`},
		{"-0700", time.Date(1996, 7, 17, 2, 44, 25, 0, pdt), `"17-Jul-1996 02:44:25 -0700"`},
		{"-0230", time.Date(2021, 3, 9, 12, 0, 0, 0, nfld), `"09-Mar-2021 12:00:00 -0230"`},
		{"single-digit day", time.Date(2000, 2, 1, 0, 0, 0, 0, time.UTC), `"01-Feb-2000 00:00:00 +0000"`},
		{"nanoseconds dropped", time.Date(2000, 1, 2, 3, 4, 5, 999999999, time.UTC), `"02-Jan-2000 03:04:05 +0000"`},
		{"Unix time (B1)", time.Unix(837596665, 0).In(time.UTC), `"17-Jul-1996 09:44:25 +0000"`},
		{"offset with seconds", time.Date(1930, 5, 1, 12, 0, 0, 0, lmt), `"01-May-1930 11:59:28 +0019"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Time2Internaldate(tt.t))
		})
	}
}

func TestTime2InternaldateSameInstant(t *testing.T) {
	for _, offset := range []int{19*60 + 32, -(19*60 + 32), 59, -1} {
		in := time.Date(1930, 5, 1, 12, 0, 0, 0, time.FixedZone("", offset))
		got, err := Internaldate2Time([]byte("INTERNALDATE " + Time2Internaldate(in)))
		require.NoError(t, err)
		assert.True(t, in.Equal(got), "offset %d: %v != %v", offset, in, got)
	}
}

func TestInternaldate2Time(t *testing.T) {
	pdt := time.FixedZone("", -7*3600)
	tests := []struct {
		name string
		resp string
		want time.Time
	}{
		{"FETCH line", `* 1 FETCH (INTERNALDATE "17-Jul-1996 02:44:25 -0700" FLAGS (\Seen))`,
			time.Date(1996, 7, 17, 2, 44, 25, 0, pdt)},
		{"FETCH data", `1 (INTERNALDATE "17-Jul-1996 02:44:25 -0700" FLAGS (\Seen))`,
			time.Date(1996, 7, 17, 2, 44, 25, 0, pdt)},
		{"literal header", `2 (UID 7 INTERNALDATE "01-Jan-2024 00:00:00 +0000" RFC822 {12}`,
			time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"space-padded day", `INTERNALDATE " 2-Jan-2000 10:11:12 +0530"`,
			time.Date(2000, 1, 2, 10, 11, 12, 0, time.FixedZone("", 5*3600+30*60))},
		{"single-digit day", `INTERNALDATE "2-Jan-2000 10:11:12 +0000"`,
			time.Date(2000, 1, 2, 10, 11, 12, 0, time.UTC)},
		{"upper-case month", `INTERNALDATE "02-JAN-2000 10:11:12 +0000"`,
			time.Date(2000, 1, 2, 10, 11, 12, 0, time.UTC)},
		{"lower-case month", `INTERNALDATE "02-jan-2000 10:11:12 +0000"`,
			time.Date(2000, 1, 2, 10, 11, 12, 0, time.UTC)},
		{"leap day", `INTERNALDATE "29-Feb-2024 23:59:59 -1200"`,
			time.Date(2024, 2, 29, 23, 59, 59, 0, time.FixedZone("", -12*3600))},
		{"first of two", `INTERNALDATE "01-Jan-2001 00:00:00 +0000" INTERNALDATE "01-Jan-2002 00:00:00 +0000"`,
			time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Internaldate2Time([]byte(tt.resp))
			require.NoError(t, err)
			assert.True(t, tt.want.Equal(got), "got %v, want %v", got, tt.want)
			_, wantOff := tt.want.Zone()
			name, off := got.Zone()
			assert.Equal(t, wantOff, off, "zone offset")
			assert.Equal(t, "", name, "a fixed zone without a name")
			assert.Equal(t, tt.want.Format(time.DateTime), got.Format(time.DateTime), "clock in the server's zone")
		})
	}
}

func TestInternaldate2TimeErrors(t *testing.T) {
	tests := []struct {
		name string
		resp string
		want string // the error message
	}{
		{"missing", `* 1 FETCH (FLAGS (\Seen))`, `imaplib2: no INTERNALDATE in response`},
		{"empty", ``, `imaplib2: no INTERNALDATE in response`},
		{"NIL", `1 (INTERNALDATE NIL)`, `imaplib2: no INTERNALDATE in response`},
		{"lower-case key", `1 (internaldate "17-Jul-1996 02:44:25 -0700")`, `imaplib2: no INTERNALDATE in response`},
		{"day 39", `INTERNALDATE "39-Jan-2000 00:00:00 +0000"`,
			`imaplib2: invalid INTERNALDATE "39-Jan-2000 00:00:00 +0000": day out of range`},
		{"30 February", `INTERNALDATE "30-Feb-2024 00:00:00 +0000"`,
			`imaplib2: invalid INTERNALDATE "30-Feb-2024 00:00:00 +0000": day out of range`},
		{"29 February 2100", `INTERNALDATE "29-Feb-2100 00:00:00 +0000"`,
			`imaplib2: invalid INTERNALDATE "29-Feb-2100 00:00:00 +0000": day out of range`},
		{"day 0", `INTERNALDATE "00-Jan-2000 00:00:00 +0000"`,
			`imaplib2: invalid INTERNALDATE "00-Jan-2000 00:00:00 +0000": day out of range`},
		{"unknown month", `INTERNALDATE "01-Foo-2000 00:00:00 +0000"`,
			`imaplib2: invalid INTERNALDATE "01-Foo-2000 00:00:00 +0000": unknown month`},
		{"hour 24", `INTERNALDATE "01-Jan-2000 24:00:00 +0000"`,
			`imaplib2: invalid INTERNALDATE "01-Jan-2000 24:00:00 +0000": hour out of range`},
		{"minute 60", `INTERNALDATE "01-Jan-2000 00:60:00 +0000"`,
			`imaplib2: invalid INTERNALDATE "01-Jan-2000 00:60:00 +0000": minute out of range`},
		{"second 60", `INTERNALDATE "01-Jan-2000 00:00:60 +0000"`,
			`imaplib2: invalid INTERNALDATE "01-Jan-2000 00:00:60 +0000": second out of range`},
		{"zone minutes 60", `INTERNALDATE "01-Jan-2000 00:00:00 +0060"`,
			`imaplib2: invalid INTERNALDATE "01-Jan-2000 00:00:00 +0060": zone minutes out of range`},
		{"no zone", `INTERNALDATE "01-Jan-2000 00:00:00"`,
			`imaplib2: invalid INTERNALDATE "01-Jan-2000 00:00:00": want DD-Mmm-YYYY HH:MM:SS +HHMM`},
		{"fraction", `INTERNALDATE "01-Jan-2000 00:00:00.5 +0000"`,
			`imaplib2: invalid INTERNALDATE "01-Jan-2000 00:00:00.5 +0000": want DD-Mmm-YYYY HH:MM:SS +HHMM`},
		{"space and two digits", `INTERNALDATE " 12-Jan-2000 00:00:00 +0000"`,
			`imaplib2: invalid INTERNALDATE " 12-Jan-2000 00:00:00 +0000": want DD-Mmm-YYYY HH:MM:SS +HHMM`},
		{"unterminated", `INTERNALDATE "01-Jan-2000 00:00:00 +0000`,
			`imaplib2: invalid INTERNALDATE "01-Jan-2000 00:00:00 +0000": missing closing quote`},
		{"long", `INTERNALDATE "` + string(bytes.Repeat([]byte("x"), 100)) + `"`,
			`imaplib2: invalid INTERNALDATE "` + string(bytes.Repeat([]byte("x"), 40)) +
				`...": want DD-Mmm-YYYY HH:MM:SS +HHMM`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Internaldate2Time([]byte(tt.resp))
			require.EqualError(t, err, tt.want)
			assert.True(t, got.IsZero())
		})
	}
}

func TestInternaldateRoundTrip(t *testing.T) {
	zones := []*time.Location{
		time.UTC,
		time.FixedZone("", 5*3600+30*60),
		time.FixedZone("", -7*3600),
		time.FixedZone("", 14*3600),
		time.FixedZone("", -(9*3600 + 30*60)),
	}
	for _, zone := range zones {
		for _, in := range []time.Time{
			time.Date(1996, 7, 17, 2, 44, 25, 0, zone),
			time.Date(2000, 1, 2, 0, 0, 0, 0, zone),
			time.Date(2024, 2, 29, 23, 59, 59, 0, zone),
		} {
			s := Time2Internaldate(in)
			got, err := Internaldate2Time([]byte("* 1 FETCH (INTERNALDATE " + s + ")"))
			require.NoError(t, err, s)
			assert.True(t, in.Equal(got), "%s: got %v, want %v", s, got, in)
			assert.Equal(t, s, Time2Internaldate(got))
		}
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name string
		resp string
		want []string
	}{
		{"two flags", `FLAGS (\Seen \Deleted)`, []string{`\Seen`, `\Deleted`}},
		{"FETCH data", `1 (UID 5 FLAGS (\Seen $Label))`, []string{`\Seen`, `$Label`}},
		{"FETCH line", `* 3 FETCH (FLAGS (\Answered) UID 9)`, []string{`\Answered`}},
		{"empty group", `3 (UID 10 FLAGS ())`, []string{}},
		{"blank group", `FLAGS (   )`, []string{}},
		{"none", `1 (UID 5)`, nil},
		{"empty response", ``, nil},
		{"last group wins", `FLAGS (\Seen) X FLAGS (\Draft \Flagged)`, []string{`\Draft`, `\Flagged`}},
		{"PERMANENTFLAGS", `OK [PERMANENTFLAGS (\* \Seen)] Limited`, []string{`\*`, `\Seen`}},
		{"untagged FLAGS", `* FLAGS (\Answered \Flagged \Deleted \Seen \Draft)`,
			[]string{`\Answered`, `\Flagged`, `\Deleted`, `\Seen`, `\Draft`}},
		{"extra white space", "FLAGS (  \\Seen   \t$Label  )", []string{`\Seen`, `$Label`}},
		{"case-sensitive", `flags (\Seen)`, nil},
		{"no space", `FLAGS(\Seen)`, nil},
		{"unclosed", `FLAGS (\Seen`, nil},
		{"nested parentheses", `FLAGS (\Seen (x))`, nil},
		{"unclosed last group", `FLAGS (a) FLAGS (b`, []string{"a"}},
		{"nested last group", `FLAGS (a) FLAGS (b (x))`, []string{"a"}},
		{"first line only", "1 (UID 5)\r\nFLAGS (\\Seen)", nil},
		{"group ends on a later line", "FLAGS (\\Seen\r\n\\Draft)", []string{`\Seen`, `\Draft`}},
		{"last on the first line", "FLAGS (a) FLAGS (b)\nFLAGS (c)", []string{"b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseFlags([]byte(tt.resp))
			assert.Equal(t, tt.want, got)
			if tt.want != nil {
				assert.NotNil(t, got)
			}
		})
	}
}

func FuzzInternaldate2Time(f *testing.F) {
	f.Add([]byte(`* 1 FETCH (INTERNALDATE "17-Jul-1996 02:44:25 -0700" FLAGS (\Seen))`))
	f.Add([]byte(`INTERNALDATE " 2-Jan-2000 10:11:12 +0530"`))
	f.Add([]byte(`INTERNALDATE "2-JAN-2000 10:11:12 +0000"`))
	f.Add([]byte(`INTERNALDATE "29-Feb-2024 23:59:59 -1259"`))
	f.Add([]byte(`INTERNALDATE "39-Jan-2000 00:00:00 +0000"`))
	f.Add([]byte(`INTERNALDATE "01-Jan-0000 00:00:00 +9959"`))
	f.Add([]byte(`INTERNALDATE "`))
	f.Fuzz(func(t *testing.T, resp []byte) {
		got, err := Internaldate2Time(resp)
		if err != nil {
			return
		}
		s := Time2Internaldate(got)
		again, err := Internaldate2Time([]byte("INTERNALDATE " + s))
		require.NoError(t, err, "%q parsed as %v, but its rendering %s does not", resp, got, s)
		require.True(t, again.Equal(got), "%q: %v rendered as %s parses as %v", resp, got, s, again)
		require.Equal(t, s, Time2Internaldate(again), "%q: rendered twice", resp)
	})
}

// FuzzParseDateTime checks the date-time parser's idea of the format
// against a regular expression of it: a value is either in that form
// (and then parsed or refused for a field out of range) or refused as
// malformed.
func FuzzParseDateTime(f *testing.F) {
	form := regexp.MustCompile(`^( ?[0-9]|[0-9]{2})-[A-Za-z]{3}-[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} [-+][0-9]{4}$`)
	for _, seed := range []string{"17-Jul-1996 02:44:25 -0700", " 2-Jan-2000 10:11:12 +0530", "2-Jan-2000 10:11:12 +0000",
		" 12-Jan-2000 00:00:00 +0000", "-1-Jan-2000 00:00:00 +0000", "1 -Jan-2000 00:00:00 +0000", "01-J n-2000 00:00:00 +0000",
		"01-Jan-2000 00:00:00.5 +0000", "", "1-", "  -Jan-2000 00:00:00 +0000"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		_, err := parseDateTime(s)
		malformed := err != nil && strings.HasSuffix(err.Error(), "want "+internalDateLayout)
		require.Equal(t, !form.Match(s), malformed, "%q: %v", s, err)
	})
}

func FuzzParseFlags(f *testing.F) {
	f.Add([]byte(`1 (UID 5 FLAGS (\Seen $Label))`))
	f.Add([]byte(`FLAGS ()`))
	f.Add([]byte(`OK [PERMANENTFLAGS (\* \Seen)] Limited`))
	f.Add([]byte("FLAGS (a) FLAGS (b)\nFLAGS (c)"))
	f.Add([]byte("FLAGS (\\Seen (x)"))
	f.Add([]byte("FLAGS (\t\r\n\v\f )"))
	f.Fuzz(func(t *testing.T, resp []byte) {
		for _, flag := range ParseFlags(resp) {
			require.NotEmpty(t, flag, "%q", resp)
			require.False(t, strings.ContainsAny(flag, " \t\n\v\f\r()"), "%q: bad flag %q", resp, flag)
		}
	})
}

func TestMailboxNames(t *testing.T) {
	for _, tt := range []struct{ utf8, wire string }{
		{"INBOX", "INBOX"},
		{"Entwürfe", "Entw&APw-rfe"},
		{"A & B", "A &- B"},
		{"日本語", "&ZeVnLIqe-"},
		{"~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
		{"😀", "&2D3eAA-"},
		{"", ""},
	} {
		assert.Equal(t, tt.wire, EncodeMailboxName(tt.utf8), tt.utf8)
		back, err := DecodeMailboxName(tt.wire)
		require.NoError(t, err, tt.wire)
		assert.Equal(t, tt.utf8, back, tt.wire)
	}
	for _, bad := range []string{"&", "&AB", "&A-", "&2D0-"} {
		_, err := DecodeMailboxName(bad)
		assert.Error(t, err, bad)
	}
}

func FuzzMailboxName(f *testing.F) {
	for _, s := range []string{"INBOX", "Entwürfe", "&", "日本語", "a&-b", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if !utf8.ValidString(name) {
			return
		}
		wire := EncodeMailboxName(name)
		require.True(t, isPlainMailboxName(strings.ReplaceAll(wire, "&", "")), "%q encodes to non-ASCII %q", name, wire)
		back, err := DecodeMailboxName(wire)
		require.NoError(t, err, "%q -> %q", name, wire)
		require.Equal(t, name, back, "%q -> %q", name, wire)
		DecodeMailboxName(name) // never panics
	})
}

// ParseFlags reads a line of many "FLAGS (" groups, none complete, in one
// pass over a single copy of the line.
func TestParseFlagsManyOpenGroups(t *testing.T) {
	assert.Nil(t, ParseFlags([]byte(strings.Repeat("FLAGS (", 200000))))
	assert.Equal(t, []string{`\Seen`}, ParseFlags([]byte(`FLAGS (\Seen) `+strings.Repeat("FLAGS (", 200000))))
}
