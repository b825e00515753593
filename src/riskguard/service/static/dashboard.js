// riskguard dashboard: reads /v1/events (server-sent events over fetch, token in the Authorization
// header) and renders each snapshot. Every value goes through textContent, never innerHTML.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
let token = "";

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function num(value, digits = 2) {
  if (value === null || value === undefined) return "-";
  if (typeof value !== "number") return String(value);
  return value.toLocaleString("en-US", { maximumFractionDigits: digits });
}

function utc(ms) {
  return ms ? new Date(ms).toISOString().replace("T", " ").slice(0, 19) : "-";
}

function rows(tableId, items, cells, onClick) {
  const body = document.querySelector(`#${tableId} tbody`);
  body.replaceChildren();
  for (const item of items) {
    const tr = el("tr");
    for (const cell of cells(item)) tr.append(cell instanceof Node ? cell : el("td", cell));
    if (onClick) tr.addEventListener("click", () => onClick(item));
    body.append(tr);
  }
}

function renderCaps(caps) {
  const box = document.getElementById("caps");
  box.replaceChildren();
  for (const cap of caps) {
    const row = el("div", null, "cap");
    row.dataset.cap = cap.cap;
    row.dataset.scope = cap.scope;
    const ratio = cap.utilisation === null ? 1 : cap.utilisation;
    const bar = el("div", null, "bar");
    const fill = el("div", null, "fill" + (ratio >= 1 ? " full" : ratio >= 0.7 ? " warn" : ""));
    fill.style.width = `${Math.min(1, Math.max(0, ratio)) * 100}%`;
    bar.append(fill);
    row.append(el("span", `${cap.cap.replace(/_/g, " ")} · ${cap.scope}`), bar,
      el("span", `${num(cap.used, 0)} / ${num(cap.limit, 0)} ${cap.unit}`, "num"));
    box.append(row);
  }
}

function polyline(points, color) {
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute("points", points.map((p) => p.join(",")).join(" "));
  line.setAttribute("fill", "none");
  line.setAttribute("stroke", color);
  line.setAttribute("stroke-width", "2");
  line.setAttribute("vector-effect", "non-scaling-stroke");
  return line;
}

function renderChart(history) {
  const svg = document.getElementById("nav-chart");
  svg.replaceChildren();
  if (!history.length) {
    const text = document.createElementNS(SVG, "text");
    text.setAttribute("x", "10"); text.setAttribute("y", "20");
    text.textContent = "no NAV marks yet";
    svg.append(text);
    return;
  }
  const navs = history.map((h) => h.nav);
  let peak = -Infinity;
  const drawdowns = navs.map((n) => { peak = Math.max(peak, n); return peak > 0 ? (peak - n) / peak : 0; });
  const lo = Math.min(...navs), hi = Math.max(...navs), span = hi - lo || 1;
  const maxDd = Math.max(...drawdowns, 0.0001);
  // One mark draws as a level line across the chart.
  const x = (i) => (history.length === 1 ? i * 600 : (i / (history.length - 1)) * 600);
  if (history.length === 1) { navs.push(navs[0]); drawdowns.push(drawdowns[0]); }
  svg.append(polyline(navs.map((n, i) => [x(i), 100 - ((n - lo) / span) * 90]), "#0969da"));
  svg.append(polyline(drawdowns.map((d, i) => [x(i), 110 + (d / maxDd) * 45]), "#cf222e"));
  svg.dataset.points = String(history.length);
  const label = document.createElementNS(SVG, "text");
  label.setAttribute("x", "4"); label.setAttribute("y", "12"); label.setAttribute("font-size", "11");
  label.textContent = `${num(hi)} USDT`;
  svg.append(label);
}

function render(view) {
  const account = view.account;
  document.getElementById("posture").textContent = `${view.posture.name} (${view.posture.config_hash})`;
  const state = document.getElementById("trading-state");
  state.textContent = account.trading_state;
  state.className = `state ${account.trading_state}`;
  document.getElementById("state-who").textContent =
    `set by ${account.state_actor} at ${utc(account.state_ts_ms)} UTC: ${account.state_reason}`;
  const info = document.getElementById("account");
  info.replaceChildren(
    el("div", `NAV ${num(account.nav)} USDT (mark ${utc(account.nav_ts_ms)} UTC) · realised PnL ${num(account.realized_pnl)} USDT`),
    el("div", `open positions ${view.open_positions} · pending reservations ${view.pending_reservations} · gross ${num(view.gross_exposure_usdt, 0)} USDT`),
    el("div", `drawdown today ${num(view.daily_drawdown * 100)} % · from peak ${num(view.drawdown_from_peak * 100)} %`));
  renderCaps(view.caps);
  renderChart(view.nav_history);
  rows("positions", view.positions, (p) => [p.strategy, p.symbol, p.side, num(p.qty, 6), num(p.entry_price),
    num(p.mark_price), num(p.notional), num(p.stop_price), num(p.profit_r), `${p.adds} / ${p.max_adds}`]);
  rows("reservations", view.reservations, (r) => [r.reservation_id, r.intent_id, r.strategy, r.symbol, r.side,
    num(r.notional), num(r.risk_usdt), utc(r.expires_ms)]);
  rows("decisions", view.decisions, (d) => {
    const gates = d.gates.map((g) => `${g.gate}: ${num(g.observed, 4)} / ${num(g.threshold, 4)} / ${num(g.headroom_notional)}`);
    const row = [utc(d.ts_ms), d.intent_id, d.strategy, d.symbol, d.side, el("td", d.verdict.toUpperCase(), d.verdict),
      d.reasons.join(", ") || "-", num(d.notional), num(d.max_notional_allowed), gates.join("; ") || "-"];
    return row;
  }, showDecision);
  document.querySelector("#decisions tbody").dataset.count = String(view.decisions.length);
}

async function showDecision(d) {
  const box = document.getElementById("detail-box");
  document.getElementById("detail-id").textContent = d.decision_id;
  const pre = document.getElementById("decision-detail");
  pre.textContent = "loading...";
  box.hidden = false;
  const response = await fetch(`/v1/decisions/${encodeURIComponent(d.decision_id)}`,
    { headers: { Authorization: `Bearer ${token}` } });
  pre.textContent = JSON.stringify(await response.json(), null, 2);
}

function setLive(text) {
  document.getElementById("live").textContent = text;
}

async function stream() {
  for (;;) {
    try {
      const response = await fetch("/v1/events", { headers: { Authorization: `Bearer ${token}`, Accept: "text/event-stream" } });
      if (response.status === 401 || response.status === 403) {
        setLive(`token refused (${response.status})`);
        sessionStorage.removeItem("riskguard-token");
        document.getElementById("login").hidden = false;
        return;
      }
      setLive("live");
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = "message", data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) event = line.slice(6).trim();
            else if (line.startsWith("data:")) data += line.slice(5).trim();
          }
          if (event === "snapshot") { render(JSON.parse(data)); setLive(`live · updated ${utc(Date.now())} UTC`); }
          else if (event === "problem") setLive(`ledger problem: ${JSON.parse(data).detail}`);
        }
      }
    } catch (error) {
      setLive(`disconnected (${error}); retrying`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function start(value) {
  token = value;
  sessionStorage.setItem("riskguard-token", value);
  document.getElementById("login").hidden = true;
  stream();
}

// The kill switch: a confirmation dialog (reason + typing ACTIVATE), then POST /v1/killswitch with
// the session's token; the server refuses a token without the admin scope (403), which is shown.
async function activateKillSwitch(reason) {
  const result = document.getElementById("kill-result");
  result.hidden = false;
  result.textContent = "activating...";
  const response = await fetch("/v1/killswitch", {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ action: "activate", reason, trigger: "manual" }),
  });
  const body = await response.json();
  if (!response.ok) {
    result.dataset.outcome = "refused";
    result.textContent = `kill switch refused (${response.status}): ${JSON.stringify(body.detail)}`;
    return;
  }
  result.dataset.outcome = "activated";
  result.textContent = `kill switch ${body.activation_id ?? ""} activated: ${body.status ?? ""}\n${JSON.stringify(body, null, 2)}`;
}

function setUpKillSwitch() {
  const dialog = document.getElementById("kill-dialog");
  const confirm = document.getElementById("kill-confirm");
  const reason = document.getElementById("kill-reason");
  document.getElementById("kill").addEventListener("click", () => {
    confirm.value = "";
    dialog.showModal();
  });
  document.getElementById("kill-cancel").addEventListener("click", () => dialog.close("cancel"));
  document.getElementById("kill-form").addEventListener("submit", (event) => {
    if (confirm.value.trim() !== "ACTIVATE" || reason.value.trim().length < 3) {
      event.preventDefault();
      confirm.setCustomValidity("type ACTIVATE and give a reason");
      confirm.reportValidity();
      return;
    }
    confirm.setCustomValidity("");
    activateKillSwitch(reason.value.trim());
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("detail-close").addEventListener("click", () => {
    document.getElementById("detail-box").hidden = true;
  });
  setUpKillSwitch();
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash) history.replaceState(null, "", location.pathname);
  const saved = fromHash || sessionStorage.getItem("riskguard-token");
  if (saved) { start(saved); return; }
  const form = document.getElementById("login");
  form.hidden = false;
  setLive("no token");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    start(document.getElementById("token").value.trim());
  });
});
