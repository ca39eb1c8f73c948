// The hall console, live: one server-sent-events stream; each event is a part of the page drawn again on the
// server (escaped there), so this script only puts it in place, rings for a new help request and draws the chart.
"use strict";
(function () {
  let audio = null;
  let known = null; // ids of help requests not yet taken, as last drawn
  const sound = document.getElementById("sound");
  const alertBox = document.getElementById("alert");

  function openIds() {
    return new Set(Array.from(document.querySelectorAll("#help tr.open")).map((row) => row.dataset.id));
  }

  function ring() {
    alertBox.hidden = false;
    alertBox.style.animation = "none";
    void alertBox.offsetWidth; // restart the flashing
    alertBox.style.animation = "";
    document.title = "【有新求助】社保自助终端 · 大厅控制台";
    if (!audio) return;
    for (const [start, pitch] of [[0, 880], [0.35, 660], [0.7, 880]]) {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = pitch;
      gain.gain.value = 0.3;
      tone.connect(gain).connect(audio.destination);
      tone.start(audio.currentTime + start);
      tone.stop(audio.currentTime + start + 0.25);
    }
  }

  function quiet() {
    if (openIds().size === 0) {
      alertBox.hidden = true;
      document.title = "社保自助终端 · 大厅控制台";
    }
  }

  function enableSound() {
    try {
      audio = audio || new AudioContext();
      audio.resume();
    } catch (e) {
      audio = null;
    }
    sound.hidden = audio !== null && audio.state === "running";
  }
  sound.addEventListener("click", enableSound);
  enableSound();
  if (!audio || audio.state !== "running") sound.hidden = false; // browsers allow sound after a tap only

  let chart = null;
  function drawChart() {
    const canvas = document.getElementById("ratings");
    if (!canvas || typeof Chart === "undefined") return;
    const data = JSON.parse(canvas.dataset.chart);
    if (chart) chart.destroy();
    chart = new Chart(canvas, {
      type: "bar",
      data: { labels: data.labels, datasets: [{ label: "今日评价", data: data.values,
        backgroundColor: ["#146c2e", "#c58a00", "#b3261e"] }] },
      options: { animation: false, plugins: { legend: { display: false } },
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
  }

  function connect() {
    const stream = new EventSource("/events");
    const offline = document.getElementById("offline");
    stream.onopen = () => { offline.hidden = true; };
    stream.onerror = () => { offline.hidden = false; };
    for (const part of ["help", "fleet", "figures"]) {
      stream.addEventListener(part, (event) => {
        document.getElementById(part).innerHTML = JSON.parse(event.data);
        if (part === "figures") drawChart();
        if (part === "help") {
          const now = openIds();
          if (known !== null && Array.from(now).some((id) => !known.has(id))) ring();
          known = now;
          quiet();
        }
      });
    }
    stream.addEventListener("expired", () => { stream.close(); window.location = "/login?expired=1"; });
  }

  known = openIds();
  if (known.size > 0) ring();
  drawChart();
  connect();
})();
