// Command testsummary reads `go test -json` on standard input and prints what
// a CI log needs: one line per package (as go test prints it), the complete
// output of every failing test, and a closing line
// "tests: N passed, N failed, N skipped". It exits 1 if anything failed.
//
// Usage: go test -json ./... | go run ./.ci/testsummary
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

func main() {
	output := map[string]*strings.Builder{} // package/test → its output
	var failedTests []string
	var passed, failed, skipped int
	failedPackage := false

	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if json.Unmarshal(line, &e) != nil {
			fmt.Println(string(line)) // build errors and the like arrive as plain text
			continue
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "output":
			b := output[key]
			if b == nil {
				b = &strings.Builder{}
				output[key] = b
			}
			b.WriteString(e.Output)
			if e.Test == "" && (strings.HasPrefix(e.Output, "ok ") || strings.HasPrefix(e.Output, "FAIL") ||
				strings.HasPrefix(e.Output, "?") || strings.HasPrefix(e.Output, "panic")) {
				fmt.Print(e.Output)
			}
		case "pass":
			if e.Test != "" {
				passed++
				delete(output, key)
			}
		case "skip":
			if e.Test != "" {
				skipped++
				delete(output, key)
			}
		case "fail":
			if e.Test == "" {
				failedPackage = true
				continue
			}
			failed++
			failedTests = append(failedTests, key)
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(1)
	}

	sort.Strings(failedTests)
	for _, key := range failedTests {
		fmt.Printf("\n--- output of failed test %s ---\n", key)
		if b := output[key]; b != nil {
			fmt.Print(b.String())
		}
	}
	if failedPackage && len(failedTests) == 0 {
		// A package failed outside any finished test: a build error, a
		// panic in init or TestMain, or a timeout. Show what never passed.
		keys := make([]string, 0, len(output))
		for key := range output {
			keys = append(keys, key)
		}
		sort.Strings(keys)
		for _, key := range keys {
			fmt.Printf("\n--- output of %s ---\n%s", strings.TrimSpace(key), output[key].String())
		}
	}
	fmt.Printf("\ntests: %d passed, %d failed, %d skipped\n", passed, failed, skipped)
	if failed > 0 || failedPackage {
		os.Exit(1)
	}
}
