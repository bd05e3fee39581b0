package imaplib2

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// MonthNames maps a month number to its English IMAP abbreviation; index 0 is "".
var MonthNames = [13]string{"", "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// Mon2num returns the month number (1-12) of an English three-letter month
// abbreviation as used in IMAP dates: Mon2num("Jan") returns 1, true.
// Matching ignores ASCII case ("JAN" and "jan" are January too), because
// RFC 3501 makes the date-month token case-insensitive; imaplib2's Mon2num
// dictionary knows only the capitalised form. The result is 0, false for
// anything else.
func Mon2num(mon string) (int, bool) {
	if len(mon) != 3 {
		return 0, false
	}
	for i := 1; i < len(MonthNames); i++ {
		if strings.EqualFold(MonthNames[i], mon) {
			return i, true
		}
	}
	return 0, false
}

// internalDateLayout is the shape of an IMAP date-time, for error messages.
const internalDateLayout = "DD-Mmm-YYYY HH:MM:SS +HHMM"

// Internaldate2Time finds the first `INTERNALDATE "DD-Mmm-YYYY HH:MM:SS +HHMM"`
// in resp, typically a FETCH response such as the data line
//
//	1 (INTERNALDATE "17-Jul-1996 02:44:25 -0700" FLAGS (\Seen))
//
// (with or without the leading "* "), and returns that time in the zone the
// server gave, as a fixed zone with the server's offset. The day may be two
// digits ("02"), space-padded (" 2") or a single digit ("2"). The month is
// matched without regard to case; the word INTERNALDATE must be upper-case,
// as in imaplib2. Only the first INTERNALDATE in resp is looked at.
//
// Unlike imaplib2, which returns None for a missing or malformed date and
// lets an impossible day such as 39-Jan-2000 roll over into February,
// Internaldate2Time returns an error that says what is wrong: resp has no
// INTERNALDATE, or the date is malformed or out of range.
func Internaldate2Time(resp []byte) (time.Time, error) {
	const key = `INTERNALDATE "`
	i := bytes.Index(resp, []byte(key))
	if i < 0 {
		return time.Time{}, newError(ErrError, "", "no INTERNALDATE in response", nil)
	}
	quoted, err := newTextDecoder(string(resp[i+len(key)-1:])).quoted()
	if err != nil {
		return time.Time{}, invalidDateError(resp[i+len(key):], "missing closing quote")
	}
	return parseDateTime([]byte(quoted))
}

// parseDateTime parses the text between the quotes of an IMAP date-time,
// "17-Jul-1996 02:44:25 -0700". The day may be two digits, a space and one
// digit, or just one digit.
func parseDateTime(s []byte) (time.Time, error) {
	var day, rest []byte // the day's digits; the rest from the '-' after it
	switch {
	case len(s) > 2 && s[1] == '-':
		day, rest = s[:1], s[1:]
	case len(s) > 3 && s[2] == '-':
		day, rest = bytes.TrimPrefix(s[:2], []byte{' '}), s[2:]
	}
	// rest is "-Mmm-YYYY HH:MM:SS +HHMM".
	if len(rest) != 24 || rest[0] != '-' || rest[4] != '-' || rest[9] != ' ' || rest[12] != ':' ||
		rest[15] != ':' || rest[18] != ' ' || rest[19] != '+' && rest[19] != '-' ||
		!isASCIILetter(rest[1]) || !isASCIILetter(rest[2]) || !isASCIILetter(rest[3]) {
		return time.Time{}, invalidDateError(s, "want "+internalDateLayout)
	}
	var fields [7]int // day, year, hour, minute, second, zone hours, zone minutes
	for i, b := range [][]byte{day, rest[5:9], rest[10:12], rest[13:15], rest[16:18], rest[20:22], rest[22:24]} {
		n, digits, _ := scanNumber(b) // at most four digits: never too large
		if digits == 0 || digits != len(b) {
			return time.Time{}, invalidDateError(s, "want "+internalDateLayout)
		}
		fields[i] = int(n)
	}
	month, ok := Mon2num(string(rest[1:4]))
	if !ok {
		return time.Time{}, invalidDateError(s, "unknown month")
	}
	d, year, hour, minute, sec, zoneHour, zoneMin := fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], fields[6]
	switch {
	case d < 1 || d > daysInMonth(time.Month(month), year):
		return time.Time{}, invalidDateError(s, "day out of range")
	case hour > 23:
		return time.Time{}, invalidDateError(s, "hour out of range")
	case minute > 59:
		return time.Time{}, invalidDateError(s, "minute out of range")
	case sec > 59:
		return time.Time{}, invalidDateError(s, "second out of range")
	case zoneMin > 59:
		return time.Time{}, invalidDateError(s, "zone minutes out of range")
	}
	offset := zoneHour*3600 + zoneMin*60
	if rest[19] == '-' {
		offset = -offset
	}
	return time.Date(year, time.Month(month), d, hour, minute, sec, 0, time.FixedZone("", offset)), nil
}

// invalidDateError returns the error for a malformed INTERNALDATE value s.
func invalidDateError(s []byte, why string) error {
	const shown = 40
	if len(s) > shown {
		s = append(s[:shown:shown], "..."...)
	}
	return newError(ErrError, "", fmt.Sprintf("invalid INTERNALDATE %q: %s", s, why), nil)
}

// daysInMonth returns the number of days in month m of year.
func daysInMonth(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// Time2Internaldate renders t as an IMAP date-time with the enclosing double
// quotes, as APPEND wants it:
//
//	"02-Jan-2006 15:04:05 -0700"
//
// The day is zero-padded, as imaplib2 3.x does, the month name is English
// whatever the locale, and the time is shown in t's own location. imaplib2's
// numeric input (seconds since the epoch, broken there: bug B1) corresponds
// to Time2Internaldate(time.Unix(sec, 0)), rendered in the local zone.
//
// IMAP offsets have whole minutes; if t's zone offset has seconds (some
// historical local mean times), the time is shown in the offset rounded
// down to the minute, so that the result still names the same instant.
// IMAP years have four digits; a year outside 0-9999 gives a date that
// servers, and Internaldate2Time, reject.
func Time2Internaldate(t time.Time) string {
	if _, offset := t.Zone(); offset%60 != 0 {
		whole := offset - ((offset%60)+60)%60 // round down, also when negative
		t = t.In(time.FixedZone("", whole))
	}
	return t.Format(`"02-Jan-2006 15:04:05 -0700"`)
}
