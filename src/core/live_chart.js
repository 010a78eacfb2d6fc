// Shared by the servers' status and monitor pages (inlined, never fetched: the pages work offline).
// gcPoll fetches a JSON endpoint every periodMs and hands it to onData; document.body's
// data-updates attribute counts the redraws, which tests/python/test_pages.py reads to prove the
// page is live. gcLines redraws line charts in an inline SVG from arrays of numbers.
"use strict";
function gcPoll(url, periodMs, onData) {
  let updates = 0;
  async function tick() {
    try {
      const answer = await fetch(url, { cache: "no-store" });
      if (answer.ok) {
        onData(await answer.json());
        updates += 1;
        document.body.dataset.updates = String(updates);
      }
    } catch (e) {
      // The server is restarting or unreachable: keep the last figures and try again.
    }
    setTimeout(tick, periodMs);
  }
  tick();
}
// lines: [{values: [number|null], color, slots}]; values are drawn right-aligned in `slots`
// positions (so a short history grows from the right) on 0..max; null leaves a gap.
function gcLines(svg, lines, max) {
  const box = svg.viewBox.baseVal;
  svg.querySelectorAll(".series").forEach((old) => old.remove());
  for (const line of lines) {
    const slots = Math.max(line.slots || line.values.length, 2);
    const offset = slots - line.values.length;
    let d = "";
    let pen = "M";
    line.values.forEach((value, i) => {
      if (value === null || !Number.isFinite(value)) {
        pen = "M";
        return;
      }
      const x = (box.width * (offset + i)) / (slots - 1);
      const y = box.height * (1 - Math.min(Math.max(value / max, 0), 1));
      d += pen + x.toFixed(1) + "," + y.toFixed(1);
      pen = "L";
    });
    if (!d) continue;
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("class", "series");
    path.setAttribute("d", d);
    path.setAttribute("fill", "none");
    path.setAttribute("stroke", line.color);
    path.setAttribute("stroke-width", "1.5");
    svg.appendChild(path);
  }
}
function gcText(id, text) {
  const element = document.getElementById(id);
  if (element) element.textContent = text;
}
