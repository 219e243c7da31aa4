"""dcgm-exporter-style GPU samples for the fleet's self-hosted models.

Utilisation follows the expected load of the models a GPU serves (the same
curve the requests follow), so GPU cost allocation in the demo lines up with
the traffic. The latency-regression rollout also pins its model's GPUs near
100 %: the bad build decodes slower, so the same traffic keeps the GPUs busier.
MIG instances report only what dcgm-exporter reports for them (engine
activity and framebuffer); power, temperature and energy come per physical GPU.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from inferledger.demo.incidents import LATENCY_REGRESSION, Incident, incidents_for
from inferledger.demo.spec import FleetSpec, load_factor

IDLE_W = 70.0
MAX_W = 700.0
_ENERGY_EPOCH = datetime(2024, 1, 1)


@dataclass(frozen=True, slots=True)
class GpuSample:
    """One scrape of one GPU (or MIG instance); None fields are not exported."""

    time: datetime
    hostname: str
    gpu: int
    uuid: str
    model_name: str
    pci_bus_id: str
    device: str
    namespace: str | None
    pod: str | None
    container: str | None
    mig_profile: str | None
    mig_instance: str | None
    gpu_util_pct: float | None        # DCGM_FI_DEV_GPU_UTIL (0-100)
    gr_engine_active: float | None    # DCGM_FI_PROF_GR_ENGINE_ACTIVE (0-1)
    fb_used_mib: float | None
    fb_free_mib: float | None
    power_w: float | None
    energy_mj: float | None           # DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION, counter
    temp_c: float | None


def gpu_uuid(hostname: str, index: int) -> str:
    h = hashlib.md5(f"{hostname}/{index}".encode()).hexdigest()
    return f"GPU-{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _deployment_load(spec: FleetSpec, t: datetime, incidents: list[Incident]) -> dict[str, float]:
    """Each self-hosted deployment's load at t relative to its weekday peak."""
    peak: dict[str, float] = {}
    now: dict[str, float] = {}
    for f in spec.features:
        m = spec.models[f.model]
        if not m.self_hosted or m.deployment is None:
            continue
        peak[m.deployment] = peak.get(m.deployment, 0.0) + f.rate_per_hour
        now[m.deployment] = now.get(m.deployment, 0.0) + f.rate_per_hour * load_factor(f, t, spec.peak_hour_utc)
    out = {d: now[d] / peak[d] for d in peak}
    for inc in incidents:
        if inc.kind == LATENCY_REGRESSION and inc.active(t) and inc.model in spec.models:
            dep = spec.models[inc.model].deployment
            if dep in out:
                out[dep] = min(1.0, 0.55 + out[dep] * 1.6)
    return out


def simulate_gpu_samples(spec: FleetSpec, start: datetime, end: datetime, step_s: float = 60.0,
                         seed: int = 7, incidents: list[Incident] | None = None,
                         counters: dict[str, float] | None = None) -> Iterator[GpuSample]:
    """Samples at every multiple of step_s (since the Unix epoch) in [start, end), time-ordered.

    `counters` (GPU key -> joules) carries the energy counters from one call to the
    next, so a live stream continues a backfill's counters instead of jumping.
    """
    if step_s <= 0:
        raise ValueError(f"step_s must be > 0, got {step_s}")
    if end <= start:
        return
    if incidents is None:
        incidents = incidents_for(start, end, seed, spec.incidents)
    step = timedelta(seconds=step_s)
    epoch = datetime(1970, 1, 1)
    k = math.ceil((start - epoch).total_seconds() / step_s)
    t = epoch + k * step
    energy: dict[str, float] = counters if counters is not None else {}
    base_j = max(0.0, (t - _ENERGY_EPOCH).total_seconds()) * MAX_W  # a counter that never runs backwards
    while t < end:
        rng = random.Random(f"gpu:{seed}:{k}")
        loads = _deployment_load(spec, t, incidents)
        for node in spec.gpu_nodes:
            owners = {i: (dep, rep, ns, ctr) for dep, rep, ns, ctr, idx in node.pods for i in idx}
            migs = dict(node.mig)
            for i in range(node.gpus):
                uuid = gpu_uuid(node.hostname, i)
                common = dict(time=t, hostname=node.hostname, gpu=i, uuid=uuid, model_name=node.model_name,
                              pci_bus_id=f"00000000:{0x18 + 0x10 * i:02X}:00.0", device=f"nvidia{i}")
                if i in migs:
                    util_sum = 0.0
                    office = load_factor(spec.features[0], t, spec.peak_hour_utc)
                    for profile, inst, ns, pod, ctr in migs[i]:
                        slice_mib = mig_memory_mib(profile)
                        active = max(0.0, min(1.0, office * rng.uniform(0.0, 0.9)))
                        util_sum += active / len(migs[i])
                        used = slice_mib * (0.15 + 0.7 * active)
                        yield GpuSample(**common, namespace=ns, pod=pod, container=ctr, mig_profile=profile,
                                        mig_instance=inst, gpu_util_pct=None, gr_engine_active=round(active, 4),
                                        fb_used_mib=round(used), fb_free_mib=round(slice_mib - used), power_w=None,
                                        energy_mj=None, temp_c=None)
                    util, used, owner = util_sum, None, None
                else:
                    owner = owners.get(i)
                    if owner is None:
                        util = 0.0
                        used = 1.0
                    else:
                        load = loads.get(owner[0], 0.0)
                        util = max(0.0, min(1.0, (0.06 + 0.9 * load) * rng.uniform(0.9, 1.1)))
                        # vLLM pre-allocates 90 % of memory; TEI grows with its batch.
                        used = (node.memory_mib * 0.9 if owner[3] == "vllm"
                                else 2600 + 4000 * util) * rng.uniform(0.995, 1.0)
                power = IDLE_W + (MAX_W - IDLE_W) * util ** 0.9 * rng.uniform(0.95, 1.05)
                temp = 31.0 + 45.0 * util + rng.uniform(-1.5, 1.5)
                key = f"{node.hostname}/{i}"
                energy[key] = energy.get(key, base_j + (_stable_offset(key))) + power * step_s
                if used is None:   # MIG parent: dcgm-exporter reports power/temperature/energy only
                    yield GpuSample(**common, namespace=None, pod=None, container=None, mig_profile=None,
                                    mig_instance=None, gpu_util_pct=None, gr_engine_active=None,
                                    fb_used_mib=None, fb_free_mib=None, power_w=round(power, 2),
                                    energy_mj=round(energy[key] * 1000.0), temp_c=round(temp, 1))
                    continue
                ns, pod, ctr = (owner[2], f"{owner[0]}-{owner[1]}", owner[3]) if owner else (None, None, None)
                yield GpuSample(**common, namespace=ns, pod=pod, container=ctr, mig_profile=None, mig_instance=None,
                                gpu_util_pct=round(min(100.0, util * 100.0), 1), gr_engine_active=round(util * 0.92, 4),
                                fb_used_mib=round(used), fb_free_mib=round(node.memory_mib - used),
                                power_w=round(power, 2), energy_mj=round(energy[key] * 1000.0),
                                temp_c=round(temp, 1))
        k += 1
        t = epoch + k * step


_MIG_MIB = {"1g.10gb": 9856, "1g.20gb": 19968, "2g.20gb": 19968, "3g.40gb": 40192, "4g.40gb": 40192,
            "7g.80gb": 80896}


def mig_memory_mib(profile: str) -> int:
    """Framebuffer of an H100 MIG profile as nvidia-smi reports it (e.g. 3g.40gb: 40192 MiB)."""
    if profile not in _MIG_MIB:
        raise ValueError(f"unknown MIG profile {profile!r}; known: {', '.join(sorted(_MIG_MIB))}")
    return _MIG_MIB[profile]


def _stable_offset(key: str) -> float:
    """A per-GPU starting energy so the counters are not all equal."""
    return float(int(hashlib.md5(key.encode()).hexdigest()[:6], 16))
