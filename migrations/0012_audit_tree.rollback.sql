DROP TABLE audit_tree_leaves;
DROP TABLE audit_tree_nodes;
-- Applied again, the tree starts empty: so must its follower.
DELETE FROM follower_checkpoints WHERE name = 'audit_tree';
