"""Where each step runs: the ``gpu`` pool (concurrency) and Kubernetes placement as ``dagster-k8s/config`` op tags. Plain dicts (no dagster-k8s
import) so asset modules can use them: ``@asset(op_tags=GPU_TRAINING_TAGS, pool=GPU_POOL)`` for the
LoRA training step, ``op_tags=CPU_TAGS`` for preprocessing (ffmpeg, splits). Both the K8sRunLauncher
(one pod per run) and the k8s_job_executor (one pod per step) read them; outside Kubernetes they are
inert. Values: deploy/k8s/*.yaml; README "Operations"."""

#: The pool every GPU step joins (``@asset(pool=GPU_POOL)``); ``deploy/pools.py`` applies ``POOL_LIMITS``.
GPU_POOL = "gpu"

#: pool -> number of ops that may hold it at once, across all runs (one GPU on the training machine).
POOL_LIMITS = {GPU_POOL: 1}

K8S_CONFIG_TAG = "dagster-k8s/config"

#: One GPU per training pod, scheduled only on GPU nodes (NVIDIA device plugin taints/labels).
GPU_TRAINING_TAGS = {
    K8S_CONFIG_TAG: {
        "container_config": {
            "resources": {
                "requests": {"cpu": "8", "memory": "64Gi", "nvidia.com/gpu": "1"},
                "limits": {"memory": "96Gi", "nvidia.com/gpu": "1"},
            },
        },
        "pod_spec_config": {
            "node_selector": {"nvidia.com/gpu.present": "true"},
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        },
    },
}

#: CPU-only pods for preprocessing (download, ffmpeg transcode, dataset building): no GPU requested, so
#: they never land on (or hold) a GPU node.
CPU_TAGS = {
    K8S_CONFIG_TAG: {
        "container_config": {
            "resources": {
                "requests": {"cpu": "2", "memory": "4Gi"},
                "limits": {"cpu": "4", "memory": "8Gi"},
            },
        },
    },
}
