"""Metal3 and Cluster API: export a topology as BareMetalHosts, their credential Secrets
and the Cluster API objects of its kubeadm layers; import BareMetalHosts as a topology
(docs/metal3.md)."""
