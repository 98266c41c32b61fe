-- 004_meter_semantics: meter kind and rollover per device and metric, reading quality flags and the
-- log of counter corrections (glitch / reset / rollover), so that drops never become negative bars
-- or spikes and every correction can be shown on the device chart.

CREATE TABLE device_metrics (
    device_id       bigint NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    metric_id       smallint NOT NULL REFERENCES metrics(id),
    meter_kind      text NOT NULL CHECK (meter_kind IN ('counter', 'delta', 'gauge')),
    unit            text NOT NULL DEFAULT '',
    rollover_value  double precision CHECK (rollover_value > 0), -- counter wraps to 0 after this value
    usual_interval_s integer CHECK (usual_interval_s > 0),       -- NULL: learned from the readings
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device_id, metric_id)
);

INSERT INTO device_metrics (device_id, metric_id, meter_kind, unit)
SELECT k.device_id, k.metric_id, m.meter_kind, m.unit
FROM (SELECT DISTINCT device_id, metric_id FROM readings) k JOIN metrics m ON m.id = k.metric_id;

-- NULL: an ordinary reading. Otherwise how the counter logic treated it:
-- glitch (ignored dip), reset (counts from zero), rollover (wrapped), provisional (a drop whose
-- successor has not arrived yet: counted as zero until it does).
ALTER TABLE readings ADD COLUMN quality text
    CHECK (quality IN ('glitch', 'reset', 'rollover', 'provisional'));

CREATE TABLE meter_corrections (
    device_id       bigint NOT NULL,
    metric_id       smallint NOT NULL,
    ts              timestamptz NOT NULL,      -- the reading that dropped
    kind            text NOT NULL CHECK (kind IN ('glitch', 'reset', 'rollover', 'provisional')),
    previous_value  double precision NOT NULL, -- last valid value before the drop
    value           double precision NOT NULL, -- the reading's value
    consumption     double precision NOT NULL, -- what was counted for this reading
    detected_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device_id, metric_id, ts)
);
