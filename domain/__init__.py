"""The TaskFlow domain: deciders, events and policies. Pure, synchronous, no I/O."""
