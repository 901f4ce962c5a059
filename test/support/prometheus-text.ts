/** The value of one sample of a Prometheus text page, named with its labels as the page writes them (`name{a="b"}`), or undefined when the page has none. */
export function metricSample(page: string, sample: string): number | undefined {
  const line = page.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? undefined : Number(line.slice(sample.length + 1));
}
