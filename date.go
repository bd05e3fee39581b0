package imaplib2

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
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
	key := string([]byte{lowerASCII(mon[0]), lowerASCII(mon[1]), lowerASCII(mon[2])})
	for i := 1; i < len(MonthNames); i++ {
		if strings.ToLower(MonthNames[i]) == key {
			return i, true
		}
	}
	return 0, false
}

// lowerASCII returns the lower-case form of an ASCII letter, any other byte unchanged.
func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// internalDateLayout is the shape of an IMAP date-time, for error messages.
const internalDateLayout = "DD-Mmm-YYYY HH:MM:SS +HHMM"

// dateTimeRE matches the text between the quotes of an IMAP date-time. The day
// may be two digits, a space and one digit, or just one digit.
var dateTimeRE = regexp.MustCompile(
	`^( ?[0-9]|[0-9]{2})-([A-Za-z]{3})-([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([-+])([0-9]{2})([0-9]{2})$`)

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
// "17-Jul-1996 02:44:25 -0700".
func parseDateTime(s []byte) (time.Time, error) {
	if t, ok := usualDateTime(s); ok {
		return t, nil
	}
	m := dateTimeRE.FindSubmatch(s)
	if m == nil {
		return time.Time{}, invalidDateError(s, "want "+internalDateLayout)
	}
	month, ok := Mon2num(string(m[2]))
	if !ok {
		return time.Time{}, invalidDateError(s, "unknown month")
	}
	day := atoiDigits(bytes.TrimPrefix(m[1], []byte(" ")))
	year, hour, minute, sec := atoiDigits(m[3]), atoiDigits(m[4]), atoiDigits(m[5]), atoiDigits(m[6])
	zoneHour, zoneMin := atoiDigits(m[8]), atoiDigits(m[9])
	switch {
	case day < 1 || day > daysInMonth(time.Month(month), year):
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
	if m[7][0] == '-' {
		offset = -offset
	}
	zone := time.FixedZone("", offset)
	return time.Date(year, time.Month(month), day, hour, minute, sec, 0, zone), nil
}

// usualDateTime parses a well-formed date-time without a regular
// expression: "17-Jul-1996 02:44:25 -0700", the day possibly " 7" or "7".
// It reports false for anything else, which parseDateTime then examines.
func usualDateTime(s []byte) (time.Time, bool) {
	if len(s) == 25 {
		s = append([]byte{' '}, s...)
	}
	if len(s) != 26 || s[2] != '-' || s[6] != '-' || s[11] != ' ' || s[14] != ':' || s[17] != ':' || s[20] != ' ' || s[21] != '+' && s[21] != '-' {
		return time.Time{}, false
	}
	digits := func(b []byte) (int, bool) {
		n := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	dayText := s[0:2]
	if dayText[0] == ' ' {
		dayText = dayText[1:]
	}
	day, ok1 := digits(dayText)
	month, ok2 := Mon2num(string(s[3:6]))
	year, ok3 := digits(s[7:11])
	hour, ok4 := digits(s[12:14])
	minute, ok5 := digits(s[15:17])
	sec, ok6 := digits(s[18:20])
	zoneHour, ok7 := digits(s[22:24])
	zoneMin, ok8 := digits(s[24:26])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && ok8) || day < 1 || day > daysInMonth(time.Month(month), year) ||
		hour > 23 || minute > 59 || sec > 59 || zoneMin > 59 {
		return time.Time{}, false
	}
	offset := zoneHour*3600 + zoneMin*60
	if s[21] == '-' {
		offset = -offset
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.FixedZone("", offset)), true
}

// invalidDateError returns the error for a malformed INTERNALDATE value s.
func invalidDateError(s []byte, why string) error {
	const shown = 40
	if len(s) > shown {
		s = append(s[:shown:shown], "..."...)
	}
	return newError(ErrError, "", fmt.Sprintf("invalid INTERNALDATE %q: %s", s, why), nil)
}

// atoiDigits converts a string of ASCII digits that the caller has already checked.
func atoiDigits(b []byte) int {
	n, _ := strconv.Atoi(string(b))
	return n
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
