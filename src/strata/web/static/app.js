// Strata's dashboard: the rack view (every server a slot coloured by its state, kept
// live from /api/v1/changes), the layer view, and a server's page with its timeline.
// No build step, no library: the DOM, fetch and its stream reader.
"use strict";

const STATES = ["declared", "registering", "inspecting", "ready", "provisioning", "booting",
  "installing", "provisioned", "joining", "joined", "failed", "found-running",
  "maintenance", "deprovisioning"];
const token = new URLSearchParams(location.hash.split("?")[1] || "").get("token");
const headers = token ? { Authorization: "Bearer " + token } : {};
const slots = new Map(); // server name -> its slot element
const states = new Map(); // server name -> its state
window.strata = { painted: null, updates: [] }; // what the browser test reads

async function get(path) {
  const answer = await fetch(path, { headers });
  if (!answer.ok) throw new Error(path + ": " + answer.status);
  return answer.json();
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

const NAMED = 120; // up to this many servers, each slot shows its server's name

function drawRacks(view) {
  const racks = document.getElementById("racks");
  const total = view.racks.reduce((n, rack) => n + rack.servers.length, 0);
  racks.classList.toggle("named", total <= NAMED);
  const fragment = document.createDocumentFragment();
  for (const rack of view.racks) {
    const box = el("div", "rack");
    box.title = rack.region + "/" + rack.zone + "/" + rack.rack;
    box.append(el("h4", "", rack.rack));
    const row = el("div", "slots");
    for (const server of rack.servers) {
      const slot = el("a", "slot s-" + server.state, total <= NAMED ? server.name : undefined);
      slot.href = "#/server/" + encodeURIComponent(server.name);
      slot.title = server.name + ": " + server.state;
      slot.dataset.name = server.name;
      slots.set(server.name, slot);
      states.set(server.name, server.state);
      row.append(slot);
    }
    box.append(row);
    fragment.append(box);
  }
  racks.replaceChildren(fragment);
  drawCounts();
  const legend = document.getElementById("legend");
  legend.replaceChildren(...STATES.map((s) => {
    const item = el("span");
    item.append(el("i", "dot s-" + s), s);
    return item;
  }));
}

function drawCounts() {
  const counts = new Map();
  for (const state of states.values()) counts.set(state, (counts.get(state) || 0) + 1);
  const box = document.getElementById("counts");
  box.replaceChildren(el("span", "", states.size + " servers"),
    ...[...counts].sort().map(([s, n]) => el("span", "count-" + s, s + " " + n)));
}

let countsPending = false;
function apply(change) {
  const slot = slots.get(change.node);
  states.set(change.node, change.state);
  if (slot) {
    slot.className = "slot s-" + change.state;
    slot.title = change.node + ": " + change.state;
  }
  window.strata.updates.push({ node: change.node, state: change.state, at: change.at,
    shown: Date.now() / 1000 });
  if (!countsPending) {
    countsPending = true;
    requestAnimationFrame(() => { countsPending = false; drawCounts(); });
  }
}

async function follow(after) {
  const live = document.getElementById("live");
  for (;;) {
    try {
      const answer = await fetch("api/v1/changes?after=" + after, { headers });
      if (!answer.ok) throw new Error("changes: " + answer.status);
      const reader = answer.body.getReader();
      const decoder = new TextDecoder();
      let buffered = "";
      live.textContent = "live";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffered += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffered.indexOf("\n\n")) >= 0) {
          const message = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          for (const line of message.split("\n")) {
            if (line.startsWith("data: ")) {
              const change = JSON.parse(line.slice(6));
              after = change.id;
              apply(change);
            }
          }
        }
      }
    } catch (error) {
      live.textContent = "reconnecting…";
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

async function showLayers() {
  const summary = await get("api/v1/summary");
  const body = document.querySelector("#layers tbody");
  body.replaceChildren(...summary.layers.map((layer) => {
    const row = el("tr");
    row.append(el("td", "", layer.name), el("td", "", layer.servers), el("td", "", layer.joined),
      el("td", "", layer.failed),
      el("td", "", layer.roles.map((r) => r.role + " " + r.joined + "/" + r.servers + " joined").join(", ")),
      el("td", "", Object.entries(layer.states).map(([s, n]) => s + " " + n).join(", ")));
    return row;
  }));
}

// a server stopped until a person acts: what its page says, and the commands that act
// (in a cluster each names the Topology object, and consent to reinstall is written in it)
const STOPPED = {
  "failed": {said: "failed at", then: "fix the cause, then ", commands: ["strata retry"]},
  "maintenance": {said: "in maintenance since", then: "when done, ", commands: ["strata maintenance off"]},
  "found-running": {said: "found running at", then: "take it as it is or reinstall it: ",
    commands: ["strata adopt", "strata apply --allow-reprovision"]},
};
let scope = null; // the summary's cluster: {namespace} of the Topology object, or null

function command(text, server) {
  if (scope === null) return text + " " + server;
  if (text.startsWith("strata apply --allow-reprovision")) {
    return "spec.consent.allowReprovision: [" + server + "] in topologies/" + scope.topology;
  }
  return text + " " + server + " --kubeconfig FILE -n " + scope.namespace + " -t " + scope.topology;
}

function describe(event) {
  const d = event.detail || {};
  if (event.kind === "state") return (d.from || "") + " → " + (d.to || "") + (d.event ? " (" + d.event + ")" : "");
  const parts = Object.entries(d).filter(([, v]) => typeof v !== "object").map(([k, v]) => k + "=" + v);
  return event.kind + (parts.length ? " " + parts.join(" ") : "");
}

async function showServer(name) {
  const [server, events] = await Promise.all([
    get("api/v1/servers/" + encodeURIComponent(name)),
    get("api/v1/servers/" + encodeURIComponent(name) + "/events"),
  ]);
  document.getElementById("server-name").textContent = server.name;
  const state = document.getElementById("server-state");
  state.replaceChildren(el("i", "dot s-" + server.state), server.state + " · layer " + server.layer +
    " · " + server.region + "/" + server.zone + "/" + server.rack);
  const failure = document.getElementById("server-failure");
  const stopped = STOPPED[server.state];
  failure.hidden = stopped === undefined;
  if (stopped !== undefined) {
    failure.replaceChildren(stopped.said + " " + server.step + ": " + server.reason + " — " + stopped.then,
      ...stopped.commands.flatMap((text, i) => [i ? " or " : "", el("code", "", command(text, server.name))]));
  }
  const plan = document.getElementById("server-plan");
  const shown = ["bmc_address", "boot_mac", "boot_method", "firmware", "os_name", "os_version", "install_disk", "role"];
  plan.replaceChildren(...shown.filter((k) => server.plan && server.plan[k] != null).map((k) => {
    const row = el("tr");
    row.append(el("th", "", k), el("td", "", String(server.plan[k])));
    return row;
  }));
  document.getElementById("timeline").replaceChildren(...events.items.map((event) => {
    const item = el("li", "event-" + event.kind);
    item.textContent = new Date(event.at * 1000).toISOString().slice(11, 19) + "  " + describe(event);
    return item;
  }));
}

function route() {
  const path = location.hash.replace(/^#/, "").split("?")[0] || "/";
  const server = path.startsWith("/server/") ? decodeURIComponent(path.slice(8)) : null;
  document.getElementById("racks-view").hidden = path !== "/";
  document.getElementById("layers-view").hidden = path !== "/layers";
  document.getElementById("server-view").hidden = server === null;
  if (path === "/layers") showLayers();
  if (server !== null) showServer(server);
}

async function start() {
  const view = await get("api/v1/racks");
  drawRacks(view);
  requestAnimationFrame(() => { window.strata.painted = performance.now(); });
  const summary = await get("api/v1/summary");
  document.getElementById("title").textContent = "Strata · " + summary.topology;
  scope = summary.cluster ? {namespace: summary.cluster.namespace, topology: summary.topology} : null;
  window.addEventListener("hashchange", route);
  route();
  follow(view.cursor);
}

start();
