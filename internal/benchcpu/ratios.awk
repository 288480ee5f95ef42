# ratios.awk reads the output of several `go test -bench` runs whose
# benchmark names hold an `impl=<name>` element, and prints a Markdown
# table: per benchmark, the number of runs, the median ns/op and
# cpu-ns/op, each divided by the median of the same benchmark with
# impl=<base> (default naive), and the median B/op and allocs/op.
#
#   awk -v base=naive -f internal/benchcpu/ratios.awk runs.txt
BEGIN { if (base == "") base = "naive" }
/^Benchmark/ {
  name = $1; sub(/-[0-9]+$/, "", name)
  for (i = 2; i < NF; i++) {
    if ($(i+1) == "ns/op") wall[name, ++nw[name]] = $i
    if ($(i+1) == "cpu-ns/op") cpu[name, ++nc[name]] = $i
    if ($(i+1) == "B/op") bytes[name, ++nb[name]] = $i
    if ($(i+1) == "allocs/op") allocs[name] = $i
  }
  if (!(name in seen)) { seen[name] = 1; order[++k] = name }
}
function median(a, name, n,   i, j, t, s) {
  for (i = 1; i <= n; i++) s[i] = a[name, i] + 0
  for (i = 2; i <= n; i++) { t = s[i]; for (j = i - 1; j >= 1 && s[j] > t; j--) s[j+1] = s[j]; s[j+1] = t }
  return (n % 2) ? s[(n+1)/2] : (s[n/2] + s[n/2+1]) / 2
}
END {
  for (i = 1; i <= k; i++) {
    n = order[i]; mw[n] = median(wall, n, nw[n])
    if (nc[n]) mc[n] = median(cpu, n, nc[n])
    if (nb[n]) mb[n] = median(bytes, n, nb[n])
  }
  printf "| benchmark | runs | ns/op | ÷ %s | cpu-ns/op | ÷ %s | B/op | allocs/op |\n", base, base
  print "|---|--:|--:|--:|--:|--:|--:|--:|"
  for (i = 1; i <= k; i++) {
    n = order[i]; b = n; sub(/impl=[^\/]*/, "impl=" base, b)
    rw = (b in mw) ? sprintf("%.2f", mw[n] / mw[b]) : "—"
    rc = (b in mc) && (n in mc) && mc[b] > 0 ? sprintf("%.2f", mc[n] / mc[b]) : "—"
    printf "| %s | %d | %.0f | %s | %.0f | %s | %.0f | %s |\n", n, nw[n], mw[n], rw, mc[n], rc, mb[n], allocs[n]
  }
}
