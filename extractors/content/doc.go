// Package content finds executables and scripts carried in clear in the
// files an extract run carved, and files whose content contradicts their
// name or declared type: the shape of malware delivery.
//
// It owns reading DIR/manifest.jsonl and the carved files after a run (the
// first 64 KiB of each, and a zip's central directory, bounded) and turning
// what it sees into notices (analysis.Notice, the format of notices.jsonl).
// It does not carve, hash or sniff files for the manifest (package sink
// does), nor look at streams.
//
// One notice per file, the strongest finding:
//
//	Disguised_Executable      an executable, script or archive holding one, named
//	                          or declared as something else (cat.jpg, image/jpeg)
//	Executable_In_Clear       PE, ELF, Mach-O (thin and fat) or MSI
//	Archive_Holds_Executable  a zip whose entries include .exe/.dll/.scr/.js/.vbs/.ps1/.bat...
//	Script_In_Clear           a #! script, PowerShell, JScript or VBScript (by keywords)
//
// Evidence: fuid, extracted path, filename, declared and sniffed types, the
// kind found, the magic bytes (hex of the first 16), size and hash.
//
// Call order: after the sink has closed (the manifest is complete), call
// Scan(dir) or WriteNotices(dir, logs), once.
package content
