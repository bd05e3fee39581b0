package imaplib2

import "time"

func Time2Internaldate(t time.Time) string { return t.Format(`"02-Jan-2006 15:04:05 -0700"`) }
func Int2AP(num int) string {
	s := ""
	for num > 0 {
		s = string(rune('A'+num%16)) + s
		num /= 16
	}
	return s
}
