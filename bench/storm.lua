-- wrk script for bench/boot_storm.py: machines being provisioned asking for their iPXE
-- script (/ipxe?mac=...), round-robin over the MACs in STORM_MACS. Each answer is the
-- node's cached install script, and the service records an ipxe-fetched event.
init = function(args)
  macs = {}
  for line in io.lines(os.getenv("STORM_MACS")) do macs[#macs + 1] = line end
  index = 0
end

request = function()
  index = index % #macs + 1
  return wrk.format("GET", "/ipxe?mac=" .. macs[index])
end

done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.status))
end
