//! Adding nullable columns to a table that already has rows: the shape of every migration after the first
//! release. One ALTER per column because SQLite allows one change per statement; nullable so existing rows stay
//! valid without a backfill.

use sea_orm_migration::prelude::*;

/// Adds `columns` (each made nullable) to `table`.
pub(super) async fn add(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    columns: impl IntoIterator<Item = ColumnDef>,
) -> Result<(), DbErr> {
    let table = table.into_iden();
    for mut column in columns {
        manager
            .alter_table(
                Table::alter()
                    .table(table.clone())
                    .add_column(column.null())
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}

/// Drops `columns` from `table` (the `down` of [`add`]).
pub(super) async fn drop(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    columns: impl IntoIterator<Item = impl IntoIden>,
) -> Result<(), DbErr> {
    let table = table.into_iden();
    for column in columns {
        manager
            .alter_table(
                Table::alter()
                    .table(table.clone())
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}
