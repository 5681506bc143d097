// The ops dashboard: signs in through the token endpoint, polls /v1/stats/* with If-None-Match (a 304
// keeps what is shown), draws the charts as SVG (no asset from outside the project: intranets are closed).
"use strict";

const POLL_MS = 15000;
const KIND_ZH = {
  contact: "联系", major_report: "重大报告", acknowledge: "报到", resolve: "办结", reply: "答复",
  first_response: "首回", update: "周更新", revisit: "回访",
};
const DEPT_KINDS = ["acknowledge", "resolve", "first_response", "update"];
const AREA_KINDS = ["contact", "acknowledge", "resolve", "reply", "first_response", "revisit"];
const STATE_ZH = {
  received: "受理", graded: "研判", assigned: "交办", in_progress: "处置中", suspended: "挂起", returned: "退回",
  resolved: "办结", replied: "答复", revisited: "回访", closed: "销号", merged: "并案", rejected: "不予受理",
};
const CHANNEL_ZH = { grid: "网格上报", visit: "来访", phone: "来电", letter: "来信", hotline_12345: "12345热线", online: "网上" };
const LEVEL_ZH = { ordinary: "普通", complex: "复杂", major: "重大", petition_backlog: "信访积案" };

const cache = new Map(); // url → {etag, body}
let token = sessionStorage.getItem("dashboard-token");
let timer = null;

const $ = (id) => document.getElementById(id);

function pct(r) {
  return r.rate === null ? "—" : (r.rate * 100).toFixed(1) + "%";
}

function klass(r) {
  if (r.rate === null) return "none";
  return r.rate >= 0.95 ? "good" : r.rate >= 0.8 ? "mid" : "bad";
}

function sum(rates) {
  const num = rates.reduce((a, r) => a + r.num, 0);
  const den = rates.reduce((a, r) => a + r.den, 0);
  return { num, den, rate: den ? num / den : null };
}

function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

async function poll(url) {
  const seen = cache.get(url);
  const headers = { Authorization: "Bearer " + token };
  if (seen) headers["If-None-Match"] = seen.etag;
  const resp = await fetch(url, { headers });
  if (resp.status === 401) throw new Error("unauthorized");
  if (resp.status === 304 && seen) return seen.body;
  if (!resp.ok) throw new Error(url + " " + resp.status);
  const body = await resp.json();
  cache.set(url, { etag: resp.headers.get("ETag"), body });
  return body;
}

function showLogin(message) {
  clearTimeout(timer);
  token = null;
  sessionStorage.removeItem("dashboard-token");
  $("board").hidden = true;
  $("logout").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
}

async function signIn(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  const form = new URLSearchParams({ grant_type: "password", username: $("username").value, password: $("password").value });
  const resp = await fetch("/v1/auth/token", { method: "POST", body: form });
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    $("login-error").textContent = body.error === "invalid_grant" ? "账号或密码错误" : body.detail || "登录失败";
    return;
  }
  token = body.access_token;
  sessionStorage.setItem("dashboard-token", token);
  sessionStorage.setItem("dashboard-user", $("username").value);
  start();
}

function start() {
  $("login").hidden = true;
  $("board").hidden = false;
  $("logout").hidden = false;
  $("who").textContent = sessionStorage.getItem("dashboard-user") || "";
  refresh();
}

async function refresh() {
  clearTimeout(timer);
  try {
    const [overview, byDept, byArea, trend, overdue] = await Promise.all([
      poll("/v1/stats/overview"),
      poll("/v1/stats/sla?group_by=department"),
      poll("/v1/stats/sla?group_by=area"),
      poll("/v1/stats/trend?days=30"),
      poll("/v1/cases?overdue=true&limit=20"),
    ]);
    drawOverview(overview);
    drawRates(byArea);
    drawTable($("dept-table"), byDept.groups, DEPT_KINDS, "部门");
    drawTable($("area-table"), byArea.groups, AREA_KINDS, "区域");
    drawTrend(trend.days);
    drawOverdue(overdue.items);
    $("asof").textContent = "数据时间 " + new Date(overview.as_of).toLocaleString("zh-CN", { hour12: false });
    document.body.dataset.loaded = "true";
  } catch (err) {
    if (String(err.message) === "unauthorized") return showLogin("登录已过期，请重新登录");
    $("asof").textContent = "刷新失败，稍后重试";
  }
  timer = setTimeout(refresh, POLL_MS);
}

function drawOverview(o) {
  $("tile-total").textContent = o.cases.total;
  $("tile-open").textContent = o.cases.open;
  $("tile-overdue").textContent = o.overdue_now;
  $("tile-due24").textContent = o.due_24h;
  $("tile-patrols").textContent = o.patrols.today;
  $("tile-two").textContent = o.patrols.workers_with_two_today + " / " + o.patrols.workers;
  bars($("channels"), o.cases.by_channel, CHANNEL_ZH);
  bars($("levels"), o.cases.by_level, LEVEL_ZH);
}

function drawRates(byArea) {
  const g = byArea.groups;
  const set = (id, r) => {
    $(id).textContent = pct(r);
    $(id).className = klass(r);
    $(id + "-nd").textContent = r.num + " / " + r.den;
  };
  set("rate-resolution", sum(g.map((x) => x.resolution_rate)));
  set("rate-mediation", sum(g.map((x) => x.mediation_success_rate)));
  set("rate-satisfaction", sum(g.map((x) => x.satisfaction_rate)));
  set("rate-kept", sum(g.map((x) => x.kept_at_tier_rate)));
}

function drawTable(table, groups, kinds, label) {
  table.tHead.innerHTML =
    "<tr><th>" + label + "</th><th>受理</th>" + kinds.map((k) => "<th>" + KIND_ZH[k] + "</th>").join("") + "</tr>";
  table.tBodies[0].innerHTML = groups.length
    ? groups
        .map((g) => {
          const cells = kinds.map((k) => {
            const r = g.on_time[k];
            const w = r.rate === null ? 0 : Math.round(r.rate * 40);
            return `<td data-key="${esc(g.key)}" data-kind="${k}" class="${klass(r)}" title="${r.num}/${r.den}">` +
              `<span class="bar" style="width:${w}px;background:currentColor"></span>${pct(r)} <small>${r.num}/${r.den}</small></td>`;
          });
          return `<tr><td>${esc(g.name)}</td><td>${g.cases}</td>${cells.join("")}</tr>`;
        })
        .join("")
    : `<tr><td colspan="${kinds.length + 2}" class="none">暂无数据</td></tr>`;
}

function bars(el, counts, names) {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  const max = Math.max(1, ...entries.map((e) => e[1]));
  el.innerHTML = entries.length
    ? entries
        .map(([k, n]) => `<div class="hbar"><span>${esc(names[k] || k)}</span><div style="width:${(100 * n) / max}%"></div><b>${n}</b></div>`)
        .join("")
    : '<p class="none">暂无数据</p>';
}

function drawTrend(days) {
  const W = 640, H = 220, L = 34, R = 40, T = 14, B = 26;
  const max = Math.max(4, Math.ceil(Math.max(...days.map((d) => Math.max(d.received, d.closed))) / 4) * 4);
  const x = (i) => L + (i * (W - L - R)) / Math.max(1, days.length - 1);
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const yr = (r) => T + (H - T - B) * (1 - r);
  const line = (vals, color, scale) => {
    const pts = vals.map((v, i) => (v === null ? null : `${x(i).toFixed(1)},${scale(v).toFixed(1)}`)).filter(Boolean);
    return `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(" ")}"/>`;
  };
  let grid = "";
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4;
    grid += `<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#24415f"/>` +
      `<text class="legend" x="${L - 4}" y="${y(v) + 4}" text-anchor="end">${Math.round(v)}</text>` +
      `<text class="legend" x="${W - R + 4}" y="${yr(k / 4) + 4}">${k * 25}%</text>`;
  }
  const labels = days
    .map((d, i) => (i % 5 === 0 || i === days.length - 1 ? `<text class="legend" x="${x(i)}" y="${H - 8}" text-anchor="middle">${d.day.slice(5)}</text>` : ""))
    .join("");
  $("trend").innerHTML =
    `<svg viewBox="0 0 ${W} ${H}" xmlns="http://www.w3.org/2000/svg">${grid}${labels}` +
    line(days.map((d) => d.received), "#4aa3ff", y) +
    line(days.map((d) => d.closed), "#3ccf8e", y) +
    line(days.map((d) => d.on_time.rate), "#f2c14e", yr) +
    `<text class="legend" x="${L + 4}" y="${T + 2}"><tspan fill="#4aa3ff">■ 受理</tspan> <tspan fill="#3ccf8e">■ 销号</tspan> <tspan fill="#f2c14e">■ 按时率</tspan></text></svg>`;
}

function drawOverdue(items) {
  $("overdue-list").innerHTML = items.length
    ? items
        .map((c) => `<li><a href="#case=${esc(c.id)}" data-case="${esc(c.id)}">${esc(c.number)}</a><span>${esc(c.title || "")}</span><em>${esc(STATE_ZH[c.state] || c.state)}</em></li>`)
        .join("")
    : '<li class="none">暂无超期案件</li>';
}

async function openCase(id) {
  const resp = await fetch("/v1/cases/" + encodeURIComponent(id), { headers: { Authorization: "Bearer " + token } });
  if (!resp.ok) return;
  const c = await resp.json();
  const clocks = c.deadlines
    .map((d) => `<li>${esc(KIND_ZH[d.kind] || d.kind)}：${esc(d.state)}，期限 ${new Date(d.due_at).toLocaleString("zh-CN", { hour12: false })}${d.department ? "（" + esc(d.department) + "）" : ""}</li>`)
    .join("");
  const timeline = c.timeline
    .map((t) => `<li>${new Date(t.at).toLocaleString("zh-CN", { hour12: false })} ${esc(t.actor)}：${esc(t.note || t.action)}</li>`)
    .join("");
  $("case-detail").innerHTML =
    `<h3>${esc(c.number)} ${esc(c.title || "")}</h3><p>状态：${esc(STATE_ZH[c.state] || c.state)} · 等级：${esc(LEVEL_ZH[c.level] || c.level || "—")} · 层级：${esc(c.tier || "—")}</p>` +
    `<h4>时限</h4><ul>${clocks}</ul><h4>办理记录</h4><ol>${timeline}</ol>`;
  $("case-dialog").showModal();
}

$("login-form").addEventListener("submit", signIn);
$("logout").addEventListener("click", () => showLogin(""));
$("overdue-list").addEventListener("click", (e) => {
  const a = e.target.closest("a[data-case]");
  if (a) {
    e.preventDefault();
    openCase(a.dataset.case);
  }
});
if (token) start();
else showLogin("");
